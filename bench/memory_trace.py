"""Where a web request and a worker job leave memory behind: tracemalloc snapshots between rounds.

    python -m bench.memory_trace [--rounds 6] [--per-round 500]

In one process (PostgreSQL, a fresh database as in bench.web_load; a redis-server on a free port): each
round creates --per-round Tasks through the whole Flask stack (the test client: middleware, token auth,
the view, the transaction boundary, the answer) and then drains their jobs with the real worker class
(`make_worker(app).work(burst=True)`, non-forking). After round 1 (warm-up: caches fill) and after each
later round a tracemalloc snapshot is taken; it prints the traced memory per round and the lines whose
allocations grew most from the first snapshot to the last. Leaked objects show up as a line that keeps
growing round after round; caches grow once and stop."""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from bench.web_load import BIN, DEFAULT_DB, ROOT, drop_database, environment, free_port, make_database, start_redis


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a timeout's TERM still stops Redis
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--per-round", type=int, default=500)
    p.add_argument("--db", default=DEFAULT_DB.replace("h3web", "h3web_mem"))
    args = p.parse_args()
    folder = Path(f"/tmp/procly-memory-trace-{os.getpid()}")
    redis_proc, redis_url = start_redis(folder / "redis")
    make_database(args.db)
    try:
        env = environment(args.db, redis_url, folder / "instance", free_port(), {"PROCLY_ENV": "development", "PROCLY_REQUEST_LOG": "0"})
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        for cmd in (["db", "upgrade"], ["procly", "demo", "--tasks", "0"]):
            subprocess.run(flask + cmd, env=env, cwd=ROOT, capture_output=True, check=True, timeout=900)
        os.environ.update(env)
        run(args)
    finally:
        redis_proc.terminate()
        redis_proc.wait()
        drop_database(args.db)
        shutil.rmtree(folder, ignore_errors=True)


def run(args) -> None:
    from sqlalchemy import select

    from app.auth.tokens import issue_token
    from app.extensions import db
    from app.factory import create_app
    from app.models import User
    from app.runtime.worker import make_worker

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@procly.local"))
        _, secret = issue_token(staff, "memory", scope="write")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    worker = make_worker(app, name=f"memory-{os.getpid()}")
    tracemalloc.start(1)   # one frame: the allocating line (deeper traces slow each request ~50x)
    snapshots, n = [], 0
    for r in range(1, args.rounds + 1):
        t0 = time.perf_counter()
        for _ in range(args.per_round):
            n += 1
            resp = client.post("/api/v1/tasks", headers=headers, json={
                "process": "spam-filter", "values": {"name": f"M {n}", "email": f"m{n}@ex.com", "message": "hi"}})
            assert resp.status_code == 201, resp.get_data(as_text=True)
        worker.work(burst=True, logging_level="WARNING")
        gc.collect()
        snapshots.append(tracemalloc.take_snapshot().filter_traces([
            tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]))
        # live memory allocated since tracing started, less the snapshots kept here (tracemalloc.py's own)
        live = sum(stat.size for stat in snapshots[-1].statistics("filename"))
        print(f"round {r}: {args.per_round} creations + their jobs in {time.perf_counter() - t0:.1f} s; "
              f"live Python memory allocated since round 1 began {live / 1e6:.3f} MB; RSS {rss_mb():.1f} MB",
              flush=True)
    print(f"\ngrowth from round 1 to round {args.rounds} (top 15 lines):")
    for stat in snapshots[-1].compare_to(snapshots[0], "lineno")[:15]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    if len(snapshots) > 2:
        print(f"\ngrowth from round 2 to round {args.rounds} (top 8 lines):")
        for stat in snapshots[-1].compare_to(snapshots[1], "lineno")[:8]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
