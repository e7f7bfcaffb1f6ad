"""Serving a stored file: only after app.permissions said "file.read" (the callers check), always
with the detected type, `nosniff`, no caching by shared caches, and as an attachment; images and
PDFs may be shown inline (the Task page's previews) under a CSP that runs nothing."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response
from sqlalchemy import select

from app import permissions
from app.errors import APIError
from app.extensions import db
from app.files import storage
from app.headers import own_csp
from app.models import Task
from app.models.files import StoredFile

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})


def disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback name plus the UTF-8 name (no quotes, CR/LF or `;` survive)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name) or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def response(f: StoredFile, *, inline: bool = False) -> Response:
    if f.purged_at is not None:
        raise APIError("This file was deleted under the retention rules.", {"file": ["purged"]}, status=410,
                       code="gone")
    if f.removed_at is not None:
        raise APIError("This file was withdrawn.", {"file": ["withdrawn"]}, status=410, code="gone")
    try:
        chunks = storage.current().open(f.storage_key)
    except storage.StorageMissing:
        raise APIError("This file is missing from the storage.", {"file": ["missing"]}, status=410,
                       code="gone") from None
    inline = inline and f.content_type in INLINE_TYPES
    resp = Response(chunks, mimetype=f.content_type, direct_passthrough=True)
    resp.headers["Content-Length"] = str(f.size)
    resp.headers["Content-Disposition"] = disposition("inline" if inline else "attachment", f.name)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    # a downloaded file never runs script in our origin (pdf: Chromium's viewer refuses `sandbox`)
    own_csp(resp, "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'" if inline
            else "default-src 'none'; sandbox; frame-ancestors 'none'")
    return resp


def task_files(task: Task, who) -> list[StoredFile]:
    """The files of a Task `who` may read (its export): invisible Task -> 404 (the caller checked)."""
    rows = db.session.scalars(select(StoredFile).where(StoredFile.task_id == task.id).order_by(StoredFile.id))
    return [f for f in rows if permissions.allowed(who, "file.read", f)]
