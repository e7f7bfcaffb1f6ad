"""CSV import of Tasks: an upload (checked at once: a CSV, UTF-8, within the size cap, its columns
Fields of the Process that a start may set) becomes a TaskImport record; a job imports it in chunks
of CHUNK rows, each chunk its own short transaction through the set-based start (app.tasks.bulk):
the same validation and permissions as a single create, per row. Good rows start; a bad row is
reported (row number, Field, message) and writes nothing. A job interrupted mid-file goes on after
the last committed chunk (the chunk's Tasks and its progress commit together). Each chunk is claimed
by moving the import's progress from what its job read (a conditional UPDATE), so two runs of one
import — a job the sweep gave back while a slow one still ran — never start a row twice.

`sweep()` (a periodic job, app.runtime.periodic) finds imports whose job will not run: lost with
Redis, or held by a worker that was SIGKILLed, it enqueues again (the import goes on where it
stopped); one that RQ gave up on after its retries it marks failed, keeping the rows imported so
far, so that nobody waits on an import that stays "running" forever."""
from __future__ import annotations

import csv
import io
import itertools

from flask import current_app
from datetime import timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import func, select, update

from app import clock, permissions
from app.errors import APIError, Invalid
from app.extensions import db
from app.infra.bulk_insert import insert_rows
from app.infra.queue import enqueue_after_commit, redis_conn
from app.lookups import get_process
from app.models import Field, Process, TaskImport, TaskImportError, User
from app.runtime.recovery import GRACE, forget_stranded, live_jobs
from app.tasks import bulk
from app.tasks.operations import start_task

CHUNK = 1000
MAX_ROWS = 100_000
JOB = "app.tasks.imports.run_import"


def _refuse(message: str, detail: str, status: int = 422) -> Invalid:
    return Invalid(message, {"file": [detail]}, status=status)


def _columns(process: Process, header: list[str]) -> list[str]:
    """The Field key of each column, named by the Field's key or name (any case)."""
    fields = db.session.scalars(select(Field).where(Field.table_id == process.table_id)).all()
    names = {f.key.casefold(): f.key for f in fields} | {f.name.strip().casefold(): f.key for f in fields}
    keys, unknown = [], []
    for name in header:
        key = names.get(name.strip().casefold())
        (keys if key else unknown).append(key or name)
    if unknown:
        raise Invalid(f"The file has columns that are not Fields of {process.name}: {', '.join(unknown)}.",
                      {"file": [f'unknown column "{n}"' for n in unknown]})
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise Invalid("Two columns name the same Field.", {"file": [f'"{k}" appears twice' for k in repeated]})
    return keys


def create_import(process_key: str | None, filename: str | None, body: bytes, user: User) -> TaskImport:
    """Check an uploaded CSV file and queue its import (the job starts after COMMIT)."""
    if not process_key:
        raise Invalid("Name the Process to import into.", {"process": ["required"]})
    process = get_process(process_key)
    permissions.check(user, "process.view", process)
    if not (filename or "").lower().endswith(".csv"):
        raise _refuse("Upload a CSV file (.csv).", "must be a .csv file", 415)
    cap = current_app.config["MAX_CONTENT_LENGTH"]
    if len(body) > cap:
        raise _refuse(f"The file is larger than {cap // (1024 * 1024)} MB.", "too large", 413)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("The file is not UTF-8 text: save it as “CSV UTF-8”.", "must be UTF-8 text") from None
    if "\x00" in text:
        raise _refuse("The file is not a CSV text file.", "must be CSV text")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
        if not header or not any(h.strip() for h in header):
            raise _refuse("The file is empty: its first row names the Fields.", "is empty")
        columns = _columns(process, header)
        permissions.check(user, "import.start", process, values=dict.fromkeys(columns), prefix="")
        total = sum(1 for row in rows if any(cell.strip() for cell in row))
    except csv.Error as exc:
        raise _refuse(f"The file is not valid CSV (line {rows.line_num}): {exc}.", f"line {rows.line_num}: {exc}") \
            from None
    if total == 0:
        raise _refuse("The file has a header but no rows.", "has no rows")
    if total > MAX_ROWS:
        raise _refuse(f"The file has {total:,} rows; at most {MAX_ROWS:,} may be imported at once.", "too many rows")
    imp = TaskImport(process_id=process.id, created_by_id=user.id, filename=filename[:200], state="queued",
                     columns=columns, content=text, total_rows=total)
    db.session.add(imp)
    db.session.flush()
    enqueue_after_commit(JOB, imp.id, job_id=job_id(imp.id))
    return imp


def job_id(import_id: int) -> str:
    return f"import-{import_id}"


def get_import(import_id: int, user) -> TaskImport:
    imp = db.session.get(TaskImport, import_id)
    if imp is None:
        raise Invalid(f"No import {import_id}.", status=404, code="not_found")
    permissions.check(user, "import.view", imp)
    return imp


def errors_page(imp: TaskImport, page: int, per_page: int) -> tuple[list[TaskImportError], int]:
    q = select(TaskImportError).where(TaskImportError.import_id == imp.id)
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    items = db.session.scalars(q.order_by(TaskImportError.row, TaskImportError.id)
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return items, total


def error_report(imp: TaskImport) -> str:
    """The rejected rows as CSV: row, Field, message."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "field", "message"])
    for e in db.session.scalars(select(TaskImportError).where(TaskImportError.import_id == imp.id)
                                .order_by(TaskImportError.row, TaskImportError.id)):
        writer.writerow([e.row, e.field, e.message])
    return out.getvalue()


# --- the job --------------------------------------------------------------------------------------

def _problems(exc: APIError, names: dict[str, str]) -> list[tuple[str, str]]:
    """(Field name, message) of a row's error; the row as a whole ("") when it names no Field."""
    details = exc.details if isinstance(exc.details, dict) else {}
    out = []
    for path, messages in details.items():
        key = path.split("values.", 1)[1] if "values." in path else ""
        for message in messages if isinstance(messages, list) else [messages]:
            out.append((names.get(key, key), str(message)))
    return out or [("", str(exc))]


def _rows(imp: TaskImport):
    """(row number as a spreadsheet counts it, cells) of each non-blank row after the header."""
    reader = csv.reader(io.StringIO(imp.content or "", newline=""))
    next(reader, None)
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield reader.line_num, cells


def _claim(imp: TaskImport, seen: int, rows: int) -> bool:
    """Move the import's progress from `seen` to `seen + rows` in this transaction, if no other run of
    it has: the row stays locked until COMMIT, so a second run waits and then finds it moved."""
    return db.session.execute(update(TaskImport).where(TaskImport.id == imp.id, TaskImport.processed_rows == seen)
                              .values(processed_rows=seen + rows)).rowcount == 1


def _chunk(imp: TaskImport, process: Process, user: User, rows: list, names: dict) -> None:
    """One chunk in the caller's transaction (claimed): start the good rows, record the bad ones."""
    items, bad = [], []
    for line, cells in rows:
        if len(cells) != len(imp.columns):
            bad.append((line, "", f"has {len(cells)} cells; the header has {len(imp.columns)}"))
            items.append(None)
            continue
        items.append({"process": process.key, "values": {k: v for k, v in zip(imp.columns, cells) if v.strip()}})
    index = [i for i, item in enumerate(items) if item is not None]
    batch, plans, errors = bulk.prepare([items[i] for i in index], user, lambda i: "", first_error_only=False)
    actor = f"user:{user.id}"

    def one_by_one(plan: bulk.Plan) -> int | None:
        try:
            with db.session.begin_nested():
                return start_task(plan.data, user, actor)[0].id
        except APIError as exc:
            errors[plan.index] = exc
            return None

    bulk.start(plans, batch, user, actor, one_by_one=one_by_one)
    for i, exc in errors.items():
        line = rows[index[i]][0]
        bad.extend((line, field, message[:1000]) for field, message in _problems(exc, names))
    insert_rows(db.session.connection(), TaskImportError.__table__,
                [{"import_id": imp.id, "row": line, "field": field[:128], "message": message}
                 for line, field, message in bad])
    failed = len({line for line, _, _ in bad})
    imp.failed_rows += failed
    imp.started_rows += len(rows) - failed


def run_import(import_id: int) -> str:
    """The RQ job: import the file chunk by chunk, one COMMIT per chunk; resumable."""
    imp = db.session.get(TaskImport, import_id)
    if imp is None or imp.state in ("done", "failed"):
        return "nothing to do"
    user, process = db.session.get(User, imp.created_by_id), db.session.get(Process, imp.process_id)
    if user is None:   # never the system's rights (None): an import runs as its uploader or not at all
        imp.state, imp.error, imp.finished_at, imp.content = "failed", "its uploader no longer exists", clock.now(), None
        db.session.commit()
        return "failed"
    imp.state = "running"
    db.session.commit()
    names = {f.key: f.name for f in db.session.scalars(select(Field).where(Field.table_id == process.table_id))}
    seen = imp.processed_rows
    rows = itertools.islice(_rows(imp), seen, None)
    while chunk := list(itertools.islice(rows, CHUNK)):
        try:
            if not _claim(imp, seen, len(chunk)):
                db.session.rollback()
                return "another run of this import went on with it"
            _chunk(imp, process, user, chunk, names)
            db.session.commit()
            seen += len(chunk)
        except Exception:
            db.session.rollback()
            raise
    imp.state, imp.finished_at, imp.content = "done", clock.now(), None
    db.session.commit()
    return f"{imp.started_rows} started, {imp.failed_rows} refused"


def sweep() -> dict:
    """The periodic pass over unfinished imports whose job will not run (see the module's doc)."""
    stale = list(db.session.scalars(select(TaskImport).where(
        TaskImport.state.in_(("queued", "running")), TaskImport.created_at < clock.now() - timedelta(seconds=GRACE))
        .order_by(TaskImport.id).limit(100)))
    alive = live_jobs([job_id(imp.id) for imp in stale])
    forget_stranded([job_id(imp.id) for imp in stale if job_id(imp.id) not in alive])
    requeued = failed = 0
    for imp in stale:
        if job_id(imp.id) in alive:
            continue
        try:
            status = Job.fetch(job_id(imp.id), connection=redis_conn()).get_status(refresh=False)
        except NoSuchJobError:
            status = None
        if status == "failed":
            imp.state, imp.finished_at, imp.content = "failed", clock.now(), None
            imp.error = (f"a worker could not finish it after repeated errors; {imp.processed_rows:,} of "
                         f"{imp.total_rows:,} rows were read and the Tasks they started stay")
            failed += 1
        else:
            enqueue_after_commit(JOB, imp.id, job_id=job_id(imp.id))
            requeued += 1
    db.session.commit()
    return {"requeued": requeued, "failed": failed}
