"""Where the bytes of uploaded files live, behind one interface: `LocalStorage` (a folder in the
instance directory, outside `static/`) or `S3Storage` (any S3-compatible store, through boto3).
Objects are named by random keys, never by anything a user typed. Chosen by FILES_STORAGE
("local", the default, or "s3") with FILES_DIR / S3_* settings; `init_app` builds it once."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import current_app

EXTENSION = "procly_files"
CHUNK = 64 * 1024


class StorageMissing(LookupError):
    """The object is not in the storage (purged, or lost)."""


class Storage:
    """put a finished local file under a key, stream it back, delete it."""

    def put(self, key: str, path: str, content_type: str) -> None:
        raise NotImplementedError

    def open(self, key: str) -> Iterator[bytes]:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError


def _safe_key(key: str) -> str:
    if not key or not all(c.isalnum() or c in "-_" for c in key):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage(Storage):
    """Files under `root/<key[:2]>/<key>`; the folder is created 0700."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        key = _safe_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, path: str, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.move(path, target)
        os.chmod(target, 0o600)

    def open(self, key: str) -> Iterator[bytes]:
        try:
            fh = open(self.path(key), "rb")
        except FileNotFoundError:
            raise StorageMissing(key) from None

        def chunks():
            with fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
        return chunks()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


class S3Storage(Storage):
    """Objects `prefix + key` in one bucket of an S3-compatible store."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None):
        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def _key(self, key: str) -> str:
        return self.prefix + _safe_key(key)

    def put(self, key: str, path: str, content_type: str) -> None:
        self.client.upload_file(path, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type})
        os.unlink(path)

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StorageMissing(key) from None
            raise

        def chunks():
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()
        return chunks()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True


def build(config) -> Storage:
    kind = (config.get("FILES_STORAGE") or "local").lower()
    if kind == "s3":
        if not config.get("S3_BUCKET"):
            raise RuntimeError("FILES_STORAGE=s3 needs S3_BUCKET")
        return S3Storage(config["S3_BUCKET"], prefix=config.get("S3_PREFIX") or "",
                         endpoint_url=config.get("S3_ENDPOINT_URL"), region=config.get("S3_REGION"),
                         access_key=config.get("S3_ACCESS_KEY_ID"), secret_key=config.get("S3_SECRET_ACCESS_KEY"))
    if kind != "local":
        raise RuntimeError(f'FILES_STORAGE must be "local" or "s3", not {kind!r}')
    return LocalStorage(config.get("FILES_DIR") or Path(config["PROCLY_INSTANCE"]) / "files")


def init_app(app) -> Storage:
    storage = build(app.config)
    app.extensions[EXTENSION] = storage
    return storage


def current() -> Storage:
    return current_app.extensions[EXTENSION]


def spool_dir() -> Path:
    """Where uploads are streamed before they are checked and stored (beside the local files)."""
    path = Path(current_app.config.get("FILES_SPOOL_DIR") or Path(current_app.config["PROCLY_INSTANCE"]) / "uploads-tmp")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
