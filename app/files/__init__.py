"""Uploaded files: the storage (`storage.py`, local or S3-compatible), the checks on a name and its
content (`names.py`), uploading / reviewing / withdrawing / purging (`operations.py`), serving
(`downloads.py`) and the schema (`schemas.py`). The File upload stage type (app.stages.upload) says
what a Stage accepts; app.permissions (files.py) says who may upload and read."""
from app.files.operations import init_app

__all__ = ["init_app"]
