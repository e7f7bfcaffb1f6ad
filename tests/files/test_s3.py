"""The S3 storage against a real S3-compatible server (moto's server mode, started here): uploads
through the API land in the bucket under random keys, downloads stream back, withdrawing and purging
delete the objects, and an upload whose request rolls back leaves no object behind."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from app.files import storage
from app.models.files import StoredFile
from tests.files.conftest import PDF, PNG
from tests.processes import wait_until

BUCKET = "procly-files"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = Path(sys.executable).with_name("moto_server")
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_until(up, 30, "moto_server listening", diagnose=lambda: log.read_text()[-2000:])
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3(app, moto):
    config = {"FILES_STORAGE": "s3", "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": moto, "S3_REGION": "us-east-1",
              "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test", "S3_PREFIX": "procly/"}
    client = boto3.client("s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    before = app.extensions[storage.EXTENSION]
    app.extensions[storage.EXTENSION] = storage.build(config)
    yield client
    app.extensions[storage.EXTENSION] = before
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_upload_download_remove_and_purge_on_s3(fw, docs_task, s3):
    from app.files.operations import purge_task_files

    task_id, run_id = docs_task
    r = fw.upload(fw.api, run_id, PDF, "../../proof.pdf")
    assert r.status_code == 201, r.get_json()
    row = fw.db.session.get(StoredFile, r.get_json()["id"])
    assert keys(s3) == [f"procly/{row.storage_key}"]
    head = s3.head_object(Bucket=BUCKET, Key=f"procly/{row.storage_key}")
    assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(PDF)
    got = fw.api.get(f"/api/v1/files/{row.id}/content")
    assert got.status_code == 200 and got.data == PDF and got.headers["Content-Disposition"].startswith("attachment")

    other = fw.upload(fw.api, run_id, PNG, "me.png").get_json()["id"]
    assert fw.api.delete(f"/api/v1/files/{other}").status_code == 200
    assert keys(s3) == [f"procly/{row.storage_key}"]

    assert purge_task_files(task_id, "system") == 1
    fw.db.session.commit()
    assert keys(s3) == [] and fw.api.get(f"/api/v1/files/{row.id}/content").status_code == 410


def test_refused_upload_leaves_no_object(fw, docs_task, s3):
    from tests.files.conftest import EXE

    _, run_id = docs_task
    assert fw.upload(fw.api, run_id, EXE, "x.pdf").status_code == 415
    assert keys(s3) == []


def test_rolled_back_upload_deletes_its_object(fw, docs_task, s3):
    import io

    from app.files import operations

    _, run_id = docs_task
    operations.upload(run_id, fw.staff, io.BytesIO(PDF).read, filename="a.pdf", content_length=len(PDF), actor="t")
    assert len(keys(s3)) == 1
    fw.db.session.rollback()      # the request failed after the upload: its object goes too
    assert keys(s3) == [] and fw.count(StoredFile) == 0


def test_a_missing_object_answers_410(fw, docs_task, s3):
    _, run_id = docs_task
    fid = fw.upload(fw.api, run_id, PDF).get_json()["id"]
    s3.delete_object(Bucket=BUCKET, Key=keys(s3)[0])
    assert fw.api.get(f"/api/v1/files/{fid}/content").status_code == 410
