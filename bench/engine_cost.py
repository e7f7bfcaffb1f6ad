"""Engine cost per transition by Process size: the same number of transitions through lanes of 5, 50,
200 and 500 automated Stages, and through a column of 50 parallel Stages (and their join).

    python -m bench.engine_cost [--transitions 5000] [--sizes 5,50,200,500] [--parallel 50] [--worker]
                                [--worker-transitions 1000] [--no-pure] [--profile PREFIX]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench_x python -m bench.engine_cost --worker

(pure)   the engine's decisions only (`engine.complete` on the Task's view, as a worker asks it, with the
         run index the shell keeps up to date, app.runtime.plan.RunIndex), CPU time
         (`time.process_time_ns`) per transition: mean, p50 and the ratio to the 5-Stage lane. Each Stage
         has its own `skip_when` CEL condition (evaluated through the app's evaluator), so condition
         evaluation is in the figure; one Task runs through each lane first to warm the caches.
(worker) with --worker: the whole worker transition in process (the `run_stage` job: Task lock, runs
         load, engine, shell, Events, one commit, the after-commit enqueue to Redis) on SQLite (a fresh
         file) or PostgreSQL (DATABASE_URL; the schema is dropped and re-created: use a throwaway
         database). RQ itself is not in the figure (bench/runtime_throughput.py measures it). CPU of this
         process only (the PostgreSQL server's is not counted) and wall time, per transition.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time

from bench.common import bench_admin, bench_servers, fresh_app

FIELDS = "abc"
ROUNDS = 5


def lane_doc(size: int, parallel: bool = False) -> dict:
    """`size` automated compute Stages one after another, or (parallel) in one column with a join."""
    stages = []
    for i in range(1, size + 1):
        stages.append({"key": f"s{i}", "name": f"S{i}", "type": "compute", "column": 1 if parallel else i,
                       "reads": ["a", "b"], "writes": ["b"], "skip_when": f"a > {1000 + i}",
                       "config": {"assignments": {"b": f"a + {i}"}}})
    if parallel:
        stages.append({"key": "join", "name": "Join", "type": "compute", "column": 2, "reads": ["a", "b"],
                       "writes": ["b"], "skip_when": "a > 5000", "config": {"assignments": {"b": "a"}}})
    return {"stages": stages, "routes": []}


def shapes(sizes: list[int], parallel: int) -> list[tuple[str, int, bool]]:
    out = [(f"{n} Stages in a row", n, False) for n in sizes]
    if parallel:
        out.append((f"{parallel} parallel Stages + join", parallel, True))
    return out


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(len(values) * p)) - 1))]


# --- pure engine ---------------------------------------------------------------------------------

def pure(definition: dict, transitions: int, evaluate) -> tuple[list[float], list[float]]:
    """CPU ns of each `engine.complete` call while Tasks run through the lane (the view is updated
    outside the clock, the way the shell would after applying the decisions): all of them, and those
    in the middle of the lane (that start a next Stage: a Task's last one, which only finishes the Task,
    is cheaper and is 1 in 5 of a 5-Stage lane's but 1 in 500 of a 500-Stage lane's)."""
    from app.runtime import engine
    from app.runtime.plan import RunIndex

    samples: list[float] = []
    steps: list[float] = []
    warm = True
    while warm or len(samples) < transitions:
        next_id = iter(range(1, 10**9))
        state = {"index": RunIndex.of(())}
        pending: list[int] = []

        def put(run):   # the shell keeps the Task's run index up to date run by run, the same way
            index = state["index"]
            old = index.by_id.get(run.id)
            state["index"] = index.replaced(old, run) if old is not None else index.added(run)

        def apply(decisions):
            for d in decisions:
                if isinstance(d, engine.StartStage):
                    run = engine.RunView(next(next_id), d.stage_key, d.status)
                    put(run)
                    if d.status == "pending":
                        pending.append(run.id)
                elif isinstance(d, engine.SkipStage) and d.run_id is None:
                    put(engine.RunView(next(next_id), d.stage_key, "skipped"))
                elif isinstance(d, engine.CompleteRun):
                    put(engine.RunView(d.run_id, d.stage_key, "completed"))

        def view():
            index = state["index"]
            return engine.TaskView.of_index({"a": 1, "b": 0}, index)

        apply(engine.advance(definition, view(), evaluate=evaluate))
        while pending and (warm or len(samples) < transitions):
            run_id = pending.pop(0)
            put(engine.RunView(run_id, state["index"].by_id[run_id].stage_key, "started"))
            current = view()
            start = time.process_time_ns()
            decisions = engine.complete(definition, current, run_id, evaluate=evaluate)
            spent = time.process_time_ns() - start
            if not warm:
                samples.append(spent)
                if any(isinstance(d, engine.StartStage) for d in decisions):
                    steps.append(spent)
            apply(decisions)
        warm = False
    return samples, steps


def run_pure(args) -> None:
    from app.definitions.definition import normalize
    from app.factory import create_app
    from app.runtime.context import evaluate

    app = create_app({"RATELIMIT_ENABLED": False})
    rows = []
    with app.app_context():
        lanes = [(label, normalize(lane_doc(size, parallel))) for label, size, parallel in shapes(args.sizes, args.parallel)]
        got = {label: ([], []) for label, _ in lanes}
        for _ in range(ROUNDS):   # the shapes take turns, so a change of load on a shared box hits them alike
            for label, definition in lanes:
                samples, steps = pure(definition, args.transitions // ROUNDS, evaluate)
                got[label][0].extend(samples)
                got[label][1].extend(steps)
        for label, _ in lanes:
            samples, steps = got[label]
            rows.append((label, len(samples), statistics.fmean(samples) / 1e6, statistics.median(samples) / 1e6,
                         _pct(samples, 0.95) / 1e6, statistics.fmean(steps) / 1e6 if steps else 0.0))
    base, base_step = rows[0][2], rows[0][5]
    print("(pure) engine decisions per transition (engine.complete, CPU time):")
    for label, n, mean, p50, p95, step in rows:
        print(f"  {label:32s} {n:6d} transitions  mean {mean:.3f} ms  p50 {p50:.3f} ms  p95 {p95:.3f} ms  "
              f"mean/5-Stage {mean / base:.2f};  mid-lane (starts the next Stage) mean {step:.3f} ms, "
              f"/5-Stage {step / base_step:.2f}")


# --- whole worker transition ---------------------------------------------------------------------

def setup_world(db_url: str, redis_url: str, tmp: str):
    def world():
        from app.tables.operations import create_table

        bench_admin()
        create_table({"key": "t", "name": "T", "fields": [
            {"key": k, "name": k.upper(), "type": "number", "required": False, "options": {}} for k in FIELDS]},
            "bench")
    return fresh_app(db_url, redis_url, tmp, world)


def worker_shape(app, key: str, doc: dict, tasks: int) -> dict:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import StageRun, User
    from app.processes import operations, versioning
    from app.runtime import jobs
    from app.tasks import operations as service

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "bench@x.test"))
        process = operations.create_process({"key": key, "name": key, "description": "", "table": "t",
                                             "team": "Bench"}, admin)
        versioning.publish(process, admin, "bench", definition=doc)
        db.session.commit()
        process_id = process.id
        service.create_tasks([{"process": key, "values": {"a": 1, "b": 0}} for _ in range(tasks)], None, "bench")
        db.session.commit()
        db.session.remove()
        cpu, wall, per_job = 0, 0, []
        transitions = 0
        while True:
            pending = db.session.execute(select(StageRun.id, StageRun.attempt).where(
                StageRun.status == "pending", StageRun.automated.is_(True), StageRun.process_id == process_id)
                .order_by(StageRun.id)).all()
            db.session.remove()
            if not pending:
                break
            for run_id, attempt in pending:
                c0, w0 = time.process_time_ns(), time.perf_counter_ns()
                result = jobs.run_stage(run_id, attempt)
                db.session.remove()
                c, w = time.process_time_ns() - c0, time.perf_counter_ns() - w0
                performed = int(result.split()[1]) if result.startswith("performed") else 0
                if performed:
                    transitions += performed
                    cpu, wall = cpu + c, wall + w
                    per_job.append(c / performed)
    return {"transitions": transitions, "cpu_ms": cpu / 1e6 / transitions, "wall_ms": wall / 1e6 / transitions,
            "p50_ms": statistics.median(per_job) / 1e6, "jobs": len(per_job)}


def run_worker(args) -> None:
    db_url, redis_url, tmp = bench_servers("procly-engine-cost-")
    app = setup_world(db_url, redis_url, tmp)
    rows = []
    for n, (label, size, parallel) in enumerate(shapes(args.sizes, args.parallel)):
        per_task = size + 1 if parallel else size
        tasks = max(2, args.worker_transitions // per_task)
        worker_shape(app, f"warm{n}", lane_doc(size, parallel), 1)  # caches, first statements
        profiler = cProfile.Profile(time.process_time) if args.profile else None   # CPU clock
        if profiler:
            profiler.enable()
        r = worker_shape(app, f"lane{n}", lane_doc(size, parallel), tasks)
        if profiler:
            profiler.disable()
            path = f"{args.profile}.{size}{'p' if parallel else ''}"
            profiler.dump_stats(path)
            print(f"  profile of {label}: {path} (python -m pstats {path}; sort tottime / cumulative)")
        rows.append((label, r))
        from app.infra.queue import redis_conn

        with app.app_context():
            redis_conn().flushdb()   # the jobs the commits enqueued: nobody works them here
    base = rows[0][1]["cpu_ms"]
    where = db_url.split("@")[-1] if "@" in db_url else db_url.split(":")[0]
    print(f"(worker) whole run_stage transition in process, {where}:")
    for label, r in rows:
        print(f"  {label:32s} {r['transitions']:6d} transitions in {r['jobs']:5d} jobs  CPU mean "
              f"{r['cpu_ms']:.3f} ms (p50 of jobs {r['p50_ms']:.3f} ms)  wall mean {r['wall_ms']:.3f} ms  "
              f"CPU/5-Stage {r['cpu_ms'] / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transitions", type=int, default=5000)
    parser.add_argument("--sizes", default="5,50,200,500")
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help="also measure the whole worker transition")
    parser.add_argument("--worker-transitions", type=int, default=1000)
    parser.add_argument("--no-pure", action="store_true")
    parser.add_argument("--profile", metavar="PREFIX", help="with --worker: cProfile (CPU clock) of each shape's "
                        "measured jobs into PREFIX.<size>")
    args = parser.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if not args.no_pure:
        run_pure(args)
    if args.worker:
        run_worker(args)
    print(f"started {started}; load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
