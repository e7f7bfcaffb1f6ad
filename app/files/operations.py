"""Uploading, reviewing, withdrawing and purging stored files. Every function asks app.permissions
itself and works inside the caller's transaction (the request commits once). An upload is streamed
to a spool file in chunks, refused as soon as it passes the Stage's size limit, checked by content,
then handed to the storage under a random key; if the transaction rolls back, the stored object is
deleted again (no orphan bytes for a refused or failed request)."""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event, select
from werkzeug.exceptions import RequestEntityTooLarge

from app import clock, lookups, permissions, stages
from app.errors import APIError, Invalid
from app.extensions import db
from app.files import storage
from app.files.names import HEAD_BYTES, detect, sanitise, with_extension
from app.infra.queue import publish_after_commit, record_event
from app.models import Field, StageRun, Task, User
from app.models.files import StoredFile
from app.models.portal import MagicLink
from app.stages.upload import allowed_types, kinds_label

CHUNK = 64 * 1024
MB = 1024 * 1024
WRITTEN = "procly_files_written"


class TooLarge(APIError):
    status, code = 413, "too_large"


def upload_stage(run: StageRun) -> tuple[dict, dict]:
    """(Stage, loaded config) of a File upload Stage Run; 409 for a run of another type."""
    stage = permissions.stage_for(run)
    type_ = stages.get(stage["type"])
    if stage["type"] != "file_upload" or type_ is None:
        raise Invalid(f"Stage {run.stage_key!r} does not take files.", {"run": ["not a File upload Stage"]},
                      status=409, code="conflict")
    return stage, stages.loaded_config(type_, stage.get("config") or {})


def _field_name(task: Task, key: str) -> str:
    f = db.session.scalar(select(Field).where(Field.table_id == task.table_id, Field.key == key))
    return f.name if f is not None else key


def live_files(run_id: int, field: str | None = None) -> list[StoredFile]:
    q = select(StoredFile).where(StoredFile.stage_run_id == run_id, StoredFile.removed_at.is_(None),
                                 StoredFile.purged_at.is_(None))
    if field is not None:
        q = q.where(StoredFile.field_key == field)
    return list(db.session.scalars(q.order_by(StoredFile.id)))


def _spool(read: Callable[[int], bytes], limit: int, label: str) -> tuple[str, int, str, bytes]:
    """Copy the request body to a spool file in CHUNK pieces: (path, size, sha256, first bytes).
    Past `limit` bytes it stops reading and refuses (413): memory stays at one chunk."""
    fd, path = tempfile.mkstemp(dir=storage.spool_dir(), prefix="up-")
    size, digest, head = 0, hashlib.sha256(), b""
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = read(CHUNK)
                except RequestEntityTooLarge:   # werkzeug's own cap (RAW_BODY_MAX) on the stream
                    chunk, size = b"", limit + 1
                size += len(chunk)
                if size > limit:   # refused now: nothing more is read
                    raise TooLarge(f"{label}: the file is larger than {limit // MB} MB.",
                                   {"file": [f"larger than {limit // MB} MB"], "field": [label]})
                if not chunk:
                    break
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, size, digest.hexdigest(), head


def _who(who) -> tuple[int | None, int | None]:
    if isinstance(who, MagicLink):
        return None, who.participant_id
    return (who.id if isinstance(who, User) else None), None


def upload(run_id: int, who, read: Callable[[int], bytes], *, filename: str | None, content_length: int | None,
           actor: str) -> StoredFile:
    """Store one file into the File upload Stage Run's Field. `read(n)` reads the request body."""
    run = lookups.get_run(run_id)
    stage, config = upload_stage(run)
    field = config["field"]
    permissions.check(who, "file.upload", run, field=field)
    label = _field_name(run.task, field)
    if len(live_files(run.id, field)) >= config["max_count"]:
        raise Invalid(f"{label}: at most {config['max_count']} files may be uploaded here.",
                      {"file": ["too many files"], "field": [label]}, status=409, code="conflict")
    limit = config["max_size_mb"] * MB
    if content_length is not None and content_length > limit:   # refused before a byte is read
        raise TooLarge(f"{label}: the file is larger than {config['max_size_mb']} MB.",
                       {"file": [f"larger than {config['max_size_mb']} MB"], "field": [label]})
    def lock_run() -> None:
        """One upload at a time counts the run's files: the run's row lock (PostgreSQL) is taken only
        now, after the bytes arrived and before this upload's row is added (its foreign key would
        share-lock the run first and two uploads would deadlock)."""
        db.session.execute(select(StageRun.id).where(StageRun.id == run.id).with_for_update())

    row = _store(run, field, label, read, filename, limit, config["kinds"], who, config["needs_review"],
                 before_insert=lock_run)
    # counted with this upload's own row written: on SQLite that write waits for any other upload's commit
    if len(live_files(run.id, field)) > config["max_count"]:   # another upload won the last place
        raise Invalid(f"{label}: at most {config['max_count']} files may be uploaded here.",
                      {"file": ["too many files"], "field": [label]}, status=409, code="conflict")
    _event("file.uploaded", row, run, actor, size=row.size, content_type=row.content_type)
    return row


def _store(run: StageRun, field: str, label: str, read: Callable[[int], bytes], filename: str | None, limit: int,
           kinds, who, needs_review: bool, before_insert: Callable[[], None] | None = None) -> StoredFile:
    """Spool, check by content, put in storage under a random key and add the row (flushed): the one
    path every stored file takes (uploads, email attachments)."""
    name = sanitise(filename)
    path, size, sha, head = _spool(read, limit, label)
    try:
        if size == 0:
            raise Invalid(f"{label}: the file is empty.", {"file": ["empty"], "field": [label]})
        mime, ext, description = detect(head, name)
        if mime not in allowed_types(kinds):
            raise Invalid(f"{label}: “{name}” is {description}, which is not allowed here. "
                          f"Allowed: {kinds_label(kinds)}.",
                          {"file": [f"{description} is not an allowed kind"], "field": [label]},
                          status=415, code="unsupported_type")
        key = secrets.token_hex(16)
        storage.current().put(key, path, mime)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    db.session.info.setdefault(WRITTEN, []).append(key)   # deleted again if the request rolls back
    if before_insert is not None:
        before_insert()
    user_id, participant_id = _who(who)
    row = StoredFile(task_id=run.task_id, stage_run_id=run.id, field_key=field, name=with_extension(name, ext),
                     content_type=mime, size=size, sha256=sha, storage_key=key, uploaded_by_id=user_id,
                     participant_id=participant_id, review_status="pending" if needs_review else None,
                     created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def store_attachment(run: StageRun, field: str, filename: str, content: bytes, *, kinds, max_size_mb: int,
                     actor: str) -> StoredFile:
    """A file that arrived by email (a reply's attachment) kept in the run's file Field, with the same
    checks as an upload: size, kind from the content, a sanitised name. Raises APIError when refused."""
    label = _field_name(run.task, field)
    row = _store(run, field, label, io.BytesIO(content).read, filename, max_size_mb * MB, kinds, None, False)
    _event("file.uploaded", row, run, actor, size=row.size, content_type=row.content_type, by="email")
    return row


def _event(kind: str, f: StoredFile, run: StageRun | None, actor: str, **data) -> None:
    record_event({"type": kind, "task_id": f.task_id, "stage_run_id": run.id if run else None,
                  "process_id": run.process_id if run else None, "actor": actor, "from_status": None,
                  "to_status": None, "created_at": clock.now(),
                  "data": {"file": f.id, "name": f.name, "field": f.field_key,
                           **({"stage": run.stage_key} if run else {}), **data}})
    publish_after_commit("task.changed", {"task": f.task_id}, f"task:{f.task_id}")


def get_file(file_id: int, who, operation: str = "file.read") -> StoredFile:
    f = db.session.get(StoredFile, file_id)
    if f is None:
        raise APIError(f"No file {file_id}.", status=404, code="not_found")
    permissions.check(who, operation, f)
    return f


def _open_run_of(f: StoredFile, who, operation: str) -> StageRun:
    run = db.session.get(StageRun, f.stage_run_id) if f.stage_run_id else None
    if run is None:
        raise Invalid("This file is not part of an open step.", {"file": ["closed"]}, status=409, code="conflict")
    upload_stage(run)
    permissions.check(who, operation, run, field=f.field_key)
    return run


def remove(file_id: int, who, actor: str) -> StoredFile:
    """Withdraw a file from its still-open Stage Run (who may upload there may remove); the bytes
    go at commit like a purge, the row stays for the record."""
    f = get_file(file_id, who)
    run = _open_run_of(f, who, "file.upload")
    if f.removed_at is None:
        f.removed_at = clock.now()
        _delete_after_commit(f.storage_key)
        _event("file.removed", f, run, actor)
    return f


def review(file_id: int, who, status: str, actor: str) -> StoredFile:
    if status not in ("accepted", "rejected"):
        raise Invalid("Review status must be accepted or rejected.", {"status": ["accepted or rejected"]})
    f = get_file(file_id, who, "file.review")
    run = db.session.get(StageRun, f.stage_run_id)
    if not f.live:
        raise Invalid("This file was withdrawn.", {"file": ["withdrawn"]}, status=409, code="conflict")
    f.review_status = status
    f.reviewed_by_id = who.id if isinstance(who, User) else None
    _event("file.reviewed", f, run, actor, status=status)
    return f


def purge_task_files(task_id: int, actor: str) -> int:
    """Delete the bytes of every file of a Task (retention, or the Task's data removed on request):
    the rows stay, marked purged, so the timeline keeps its record; downloads answer 410."""
    n = 0
    for f in db.session.scalars(select(StoredFile).where(StoredFile.task_id == task_id, StoredFile.purged_at.is_(None),
                                                         StoredFile.removed_at.is_(None))):   # withdrawn: gone already
        f.purged_at = clock.now()
        _delete_after_commit(f.storage_key)
        _event("file.purged", f, None, actor)
        n += 1
    return n


def _delete_after_commit(key: str) -> None:
    db.session.info.setdefault("procly_files_delete", []).append(key)


def _after_commit(session) -> None:
    session.info.pop(WRITTEN, None)
    for key in session.info.pop("procly_files_delete", []):
        try:
            storage.current().delete(key)
        except Exception:  # noqa: BLE001 - the row says purged; a retry is `flask procly purge-files`
            pass


def _after_rollback(session, _previous) -> None:
    session.info.pop("procly_files_delete", None)
    for key in session.info.pop(WRITTEN, []):   # stored by a request that did not commit
        try:
            storage.current().delete(key)
        except Exception:  # noqa: BLE001
            pass


def init_app(app) -> None:
    storage.init_app(app)
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_rollback)


def submitted(run_id: int, who, actor: str) -> StageRun:
    """A participant finished uploading into a Stage whose files staff review: the run is back with
    staff (its `waiting on participant` ended) and the timeline says so."""
    run = lookups.get_run(run_id)
    _, config = upload_stage(run)
    permissions.check(who, "file.upload", run, field=config["field"])
    files = live_files(run.id, config["field"])
    if len(files) < config["min_count"]:
        n = config["min_count"]
        raise Invalid(f"Upload at least {n} file{'s' if n != 1 else ''} before finishing.",
                      {"values." + config["field"]: [f"needs at least {n}"]})
    record_event({"type": "file.submitted", "task_id": run.task_id, "stage_run_id": run.id,
                  "process_id": run.process_id, "actor": actor, "from_status": None, "to_status": None,
                  "created_at": clock.now(), "data": {"stage": run.stage_key, "files": [f.id for f in files]}})
    publish_after_commit("task.changed", {"task": run.task_id}, f"task:{run.task_id}")
    return run


def purge_finished(days: int, actor: str) -> tuple[int, int]:
    """Retention: purge the files of every Task that finished (completed, cancelled, rejected) at
    least `days` ago. Returns (Tasks, files)."""
    cutoff = clock.now() - timedelta(days=days)
    task_ids = db.session.scalars(select(StoredFile.task_id).join(Task, Task.id == StoredFile.task_id).where(
        Task.finished_at.is_not(None), Task.finished_at <= cutoff, StoredFile.purged_at.is_(None),
        StoredFile.removed_at.is_(None)).distinct()).all()
    return len(task_ids), sum(purge_task_files(tid, actor) for tid in task_ids)
