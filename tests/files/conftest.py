"""Fixtures for the File upload tests: a Table with file Fields, a Process whose first Stage is a
File upload (visible to the Ops Team, open to participants), users in and out of that Team."""
from __future__ import annotations

import io

import pytest

from tests.runtime_io.conftest import World, st

FILE_FIELDS = [
    {"key": "name", "name": "Name", "type": "text"},
    {"key": "docs", "name": "Proof of address", "type": "file"},
    {"key": "secret_docs", "name": "Internal scans", "type": "file"},
    {"key": "note", "name": "Note", "type": "text"},
]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
    b"\x0e\x1f\xba\x0e\x00\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200


def png(width=160, height=100, rgb=(48, 86, 211)) -> bytes:
    """A real PNG of one colour (for previews that are visible in screenshots)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def upload_stage(key="upload", *, config=None, reads=("name", "docs"), writes=("docs",), teams=("Ops",), **extra):
    return st(key, "file_upload", reads=list(reads), writes=list(writes),
              config={"field": "docs", **(config or {})},
              visibility={"internal": {"teams": list(teams), "roles": []}, "external": "action"}, **extra)


class FileWorld(World):
    def __init__(self, app, make_user, api_as):
        from app.extensions import db
        from app.tables.operations import create_table

        self.app, self.db = app, db
        self.admin = make_user("admin", teams=("Ops",), email="admin@x.test")
        self.staff = make_user("staff", teams=("Ops",), email="staff@x.test")
        self.other = make_user("staff", teams=("Sales",), email="other-team@x.test")
        self.designer = make_user("designer", teams=("Ops",), email="designer@x.test")
        create_table({"key": "t", "name": "T", "fields": [{"required": False, "options": {}, **f}
                                                          for f in FILE_FIELDS]}, "system")
        db.session.commit()
        self.api_as = api_as
        self.api = api_as(self.staff)

    def upload(self, api, run_id, body: bytes, name="proof.pdf", **headers):
        from urllib.parse import quote

        return api.client.post(f"/api/v1/runs/{run_id}/files", data=body,
                               headers={**api.headers, "X-Filename": quote(name),
                                        "Content-Type": "application/octet-stream", **headers})


@pytest.fixture
def fw(app, make_user, api_as):
    return FileWorld(app, make_user, api_as)


@pytest.fixture
def docs_task(fw):
    """A Task waiting in a File upload Stage ("upload", then "after")."""
    fw.process("docs", [upload_stage(), st("after", reads=["docs"], visibility={"internal": {"teams": ["Ops"]}})])
    task_id = fw.start("docs", {"name": "Jo"})
    return task_id, fw.run(task_id, "upload").id


def stream_of(data: bytes):
    return io.BytesIO(data)


@pytest.fixture(scope="session")
def base_url():
    """pytest-base-url's own fixture trips a pytest deprecation warning (warnings are errors here)."""
    return None
