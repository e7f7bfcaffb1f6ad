"""Dashboard query benchmark on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5447/procly_bench \
        python bench/metrics_bench.py --tasks 1000000 [--repeat 30] [--keep]

Builds the schema with the Alembic migrations, generates N Tasks (one visit each, 10 % moved by a
Route to a second Process, ~5 Stage Runs per visit, SLA timers, approval Events) spread over 365
days across 6 Processes x 2 Versions and a 2-variant Split, with INSERT ... SELECT generate_series,
builds the metric rollups (app.metrics.rollup.rebuild, timed; then one incremental refresh), then
times every query of the default dashboard views (p50/p95 over --repeat runs; the dashboard calls
read the rollup, "exact" rows the raw tables) and EXPLAINs each statement to list any sequential
scans of the big tables. --fresh N then starts N fresh processes (app created as wsgi.py does,
pre-warmed as gunicorn's post_worker_init does, app.metrics.warm) and times the default view's first
call in each, and N more without the pre-warm."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

BIG = ("tasks", "task_visits", "stage_runs", "stage_timers", "events", "metric_rollups", "metric_rollup_hist")
PROCS = ["intake", "intake-new", "follow-up", "referral", "rejection", "spam-filter"]


def _exec_many(conn, sql: str, params: dict) -> None:
    """Execute a script of statements separated by ';' at line ends (prepared statements take one)."""
    for stmt in sql.split(";\n"):
        body = "\n".join(line for line in stmt.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            used = {k: v for k, v in params.items() if f":{k}" in body}
            conn.execute(text(body), used)


def build(db, n: int, now) -> dict:
    from app.models import Process, Split, SplitVariant, Table, Team, Version

    s = db.session
    for t in reversed(db.metadata.sorted_tables):
        s.execute(t.delete())
    team, table = Team(name="Bench"), Table(key="clients", name="Clients")
    s.add_all([team, table])
    s.flush()
    pids, vids = [], []
    for key in PROCS:
        p = Process(key=key, name=key.replace("-", " ").title(), table_id=table.id, team_id=team.id, current_version=2)
        s.add(p)
        s.flush()
        pids.append(p.id)
        pair = []
        for number in (1, 2):
            v = Version(process_id=p.id, number=number, content_hash=f"{key}{number}",
                        definition={"stages": [{"key": f"s{k}"} for k in range(1, 6)]})
            s.add(v)
            s.flush()
            pair.append(v.id)
        vids.append(pair)
    split = Split(key="intake-ab", name="Intake A/B", table_id=table.id, team_id=team.id)
    split.variants = [SplitVariant(key="legacy", process_id=pids[0], weight=80, position=0),
                      SplitVariant(key="new", process_id=pids[1], weight=20, position=1)]
    s.add(split)
    s.flush()
    var = [v.id for v in split.variants]
    s.commit()
    conn = s.connection()
    t0 = time.perf_counter()
    indexes = conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(:t) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"t": list(BIG)}).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    conn.execute(text("DROP TABLE IF EXISTS bench_map, bench_t"))
    conn.execute(text("CREATE UNLOGGED TABLE bench_map (slot int primary key, pid int, v1 int, v2 int, "
                      "variant int, target int)"))
    for i, pid in enumerate(pids):
        conn.execute(text("INSERT INTO bench_map VALUES (:s, :p, :v1, :v2, :var, :tgt)"),
                     {"s": i, "p": pid, "v1": vids[i][0], "v2": vids[i][1],
                      "var": var[i] if i < 2 else None, "tgt": pids[(i + 2) % len(pids)]})
    conn.execute(text("SELECT setseed(0.42)"))
    # per Task: slot (Process; intake gets 3 shares of 8), times and outcome
    conn.execute(text("""
        CREATE UNLOGGED TABLE bench_t AS
        SELECT i, s.slot, s.created, s.lead,
               CASE WHEN s.created > :now - interval '3 days' THEN 'running'
                    WHEN s.r < 0.78 THEN 'completed' WHEN s.r < 0.88 THEN 'moved' ELSE 'cancelled' END AS outcome,
               (i % 7 < 3) AS v1
        FROM generate_series(1, :n) i,
        LATERAL (SELECT CASE WHEN i % 8 < 3 THEN 0 ELSE i % 8 - 2 END AS slot,
                        :now - interval '365 days' * (1 - i::float8 / :n) + random() * interval '30 minutes' AS created,
                        interval '1 minute' * (30 + 4320 * random() ^ 2) AS lead,
                        random() AS r, i AS dummy) s
    """), {"n": n, "now": now})
    conn.execute(text("""
        INSERT INTO tasks (id, key, table_id, values, process_id, version_id, split_id, variant_id, status,
                           needs_attention, lock_version, created_at, updated_at, finished_at)
        SELECT t.i, 'bench-' || t.i, :table, '{}'::jsonb,
               CASE WHEN t.outcome = 'moved' THEN m.target ELSE m.pid END,
               CASE WHEN t.outcome = 'moved' THEN (SELECT v2 FROM bench_map WHERE pid = m.target)
                    WHEN t.v1 THEN m.v1 ELSE m.v2 END,
               CASE WHEN m.variant IS NULL THEN NULL ELSE :split END, m.variant,
               CASE WHEN t.outcome IN ('running') THEN 'running' WHEN t.outcome = 'cancelled' THEN 'cancelled'
                    ELSE 'completed' END, false, 0, t.created, t.created + t.lead,
               CASE WHEN t.outcome = 'running' THEN NULL ELSE t.created + t.lead END
        FROM bench_t t JOIN bench_map m USING (slot)
    """), {"table": table.id, "split": split.id})
    _exec_many(conn, """
        INSERT INTO task_visits (id, task_id, process_id, version_id, variant_id, entered_at, left_at, outcome,
                                 route_key, target_process_id)
        SELECT t.i, t.i, m.pid, CASE WHEN t.v1 THEN m.v1 ELSE m.v2 END, m.variant, t.created,
               CASE WHEN t.outcome = 'running' THEN NULL ELSE t.created + t.lead END,
               CASE WHEN t.outcome = 'running' THEN NULL ELSE t.outcome END,
               CASE WHEN t.outcome = 'moved' THEN (ARRAY['too_small','out_of_area','missing_docs'])[1 + t.i % 3] END,
               CASE WHEN t.outcome = 'moved' THEN m.target END
        FROM bench_t t JOIN bench_map m USING (slot);
        -- the moved Tasks' second visit: completed in the target Process
        INSERT INTO task_visits (id, task_id, process_id, version_id, entered_at, left_at, outcome)
        SELECT :n + t.i, t.i, m.target, (SELECT v2 FROM bench_map WHERE pid = m.target), t.created + t.lead,
               t.created + t.lead * 2, 'completed'
        FROM bench_t t JOIN bench_map m USING (slot) WHERE t.outcome = 'moved';
    """, {"n": n})
    # five Stage Runs per first visit (one fifth of the lead time each: 30 % wait, 70 % cycle);
    # running visits have s1-s2 done, s3 in progress, s4-s5 not created yet -> plus a pending s3 queue
    _exec_many(conn, """
        INSERT INTO stage_runs (task_id, visit_id, process_id, version_id, stage_key, status, attempt, ready_at,
                                started_at, finished_at, due_at, active_seconds, approval_status, decided_at, data)
        SELECT t.i, t.i, m.pid, CASE WHEN t.v1 THEN m.v1 ELSE m.v2 END, 's' || k,
               CASE WHEN t.outcome = 'running' AND k = 3 THEN (CASE WHEN t.i % 2 = 0 THEN 'pending' ELSE 'in_progress' END)
                    WHEN t.outcome = 'moved' AND k = 5 THEN 'moved'
                    WHEN t.i % 31 = k THEN 'failed' ELSE 'completed' END,
               1, t.created + t.lead * (k - 1) / 5,
               CASE WHEN t.outcome = 'running' AND k = 3 AND t.i % 2 = 0 THEN NULL
                    ELSE t.created + t.lead * (k - 1) / 5 + t.lead * 0.3 * (0.5 + random()) / 5 END,
               CASE WHEN t.outcome = 'running' AND k = 3 THEN NULL ELSE t.created + t.lead * k / 5 END,
               CASE WHEN k = 2 THEN t.created + t.lead * (k - 1) / 5 + interval '4 hours' END,
               extract(epoch FROM t.lead) * 0.1 * random(),
               CASE WHEN k = 3 AND t.outcome <> 'running' THEN (CASE WHEN t.i % 9 = 0 THEN 'rejected' ELSE 'approved' END) END,
               CASE WHEN k = 3 AND t.outcome <> 'running' THEN t.created + t.lead * k / 5 END,
               '{}'::jsonb
        FROM bench_t t JOIN bench_map m USING (slot), generate_series(1, 5) k
        WHERE t.outcome <> 'running' OR k <= 3
        ORDER BY t.i, k;
        -- second visits: one Stage Run each in the target Process
        INSERT INTO stage_runs (task_id, visit_id, process_id, version_id, stage_key, status, attempt, ready_at,
                                started_at, finished_at, active_seconds, data)
        SELECT v.task_id, v.id, v.process_id, v.version_id, 's1', 'completed', 1, v.entered_at,
               v.entered_at + (v.left_at - v.entered_at) * 0.2, v.left_at, 60, '{}'::jsonb
        FROM task_visits v WHERE v.id > :n;
    """, {"n": n})
    # SLA timers on s2 (due, 4 h; reminder, 2 h) and approval requests on s3
    _exec_many(conn, """
        INSERT INTO stage_timers (stage_run_id, kind, scope, label, due_at, fired_at)
        SELECT r.id, x.kind, 'stage', x.label, r.ready_at + x.after,
               CASE WHEN coalesce(r.finished_at, :now) > r.ready_at + x.after THEN r.ready_at + x.after END
        FROM stage_runs r,
             (VALUES ('due', '4h', interval '4 hours'), ('reminder', '2h', interval '2 hours')) x(kind, label, after)
        WHERE r.stage_key = 's2' AND r.visit_id <= :n;
        INSERT INTO events (type, task_id, stage_run_id, process_id, actor, data, created_at)
        SELECT CASE t.kind WHEN 'due' THEN 'sla.breached' ELSE 'sla.reminder' END, r.task_id, r.id, r.process_id,
               'system', '{}'::jsonb, t.fired_at
        FROM stage_timers t JOIN stage_runs r ON r.id = t.stage_run_id WHERE t.fired_at IS NOT NULL ORDER BY t.fired_at;
        INSERT INTO events (type, task_id, stage_run_id, process_id, actor, to_status, data, created_at)
        SELECT 'stage.status', r.task_id, r.id, r.process_id, 'system', 'awaiting_approval', '{}'::jsonb,
               r.started_at + (r.finished_at - r.started_at) / 2
        FROM stage_runs r WHERE r.stage_key = 's3' AND r.decided_at IS NOT NULL;
    """, {"n": n, "now": now})
    for table_name in ("tasks", "task_visits", "stage_runs", "stage_timers", "events"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                          f"(SELECT coalesce(max(id), 1) FROM {table_name}))"))
    conn.execute(text("DROP TABLE bench_map, bench_t"))
    for _, ddl in indexes:
        conn.execute(text(ddl))
    s.commit()
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as ac:
        ac.execute(text("VACUUM ANALYZE"))
    counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in BIG}
    return {"seconds": round(time.perf_counter() - t0, 1), "counts": counts, "pids": pids, "vids": vids}


def forget_today() -> None:
    """What a refresh that closed runs today does to a process's rollup cache: today's day and hour
    rows have new counts, so their histograms are re-read."""
    from app.metrics import rollup_read

    rollup_read._RECENT.clear()


def timed(fn, repeat: int) -> dict:
    fn()  # warm
    xs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    xs.sort()
    return {"p50": round(statistics.median(xs), 1), "p95": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1)}


def explain_all(db, fn) -> list[str]:
    """Run fn once capturing its SQL, EXPLAIN each statement, report Seq Scans of the big tables."""
    stmts = []

    def grab(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            stmts.append((statement, params))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    found = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql, params in stmts:
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
            for line in plan.splitlines():
                if "Seq Scan on" in line and any(f"Seq Scan on {t} " in line + " " for t in BIG):
                    found.append(line.strip())
    finally:
        raw.close()
    return found


def first_call(url: str, prewarm: bool) -> None:
    """In this fresh process: create the app (as wsgi.py does), pre-warm it as gunicorn's post_worker_init
    does (unless --no-prewarm), then time the default view's first and second calls; prints one JSON line."""
    import json

    from app.factory import create_app
    from app.extensions import db
    from app.metrics import report, warm
    from app.metrics import queries as q

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REALTIME_DISABLED": True,
                      "PROCLY_INSTANCE": os.environ.get("PROCLY_INSTANCE", "/tmp/procly-bench")})
    out = {"prewarm": warm.prewarm(app) if prewarm else None}
    with app.app_context():
        pid = db.session.execute(text("SELECT id FROM processes WHERE key = 'intake'")).scalar()
        db.session.remove()
    for name in ("first", "second"):
        with app.app_context():       # a request: its own app context and session
            t = time.perf_counter()
            report.dashboard(q.Filters.default(process_id=pid))
            db.session.rollback()
            out[name] = round((time.perf_counter() - t) * 1000, 1)
            db.session.remove()
    print(json.dumps(out), flush=True)


def fresh_processes(n: int) -> None:
    """The first call of n fresh processes, with and without the pre-warm (p50/p95 of each)."""
    import json
    import subprocess

    for prewarm in (True, False):
        firsts, seconds, warm_ms = [], [], []
        for _ in range(n):
            cmd = [sys.executable, "-m", "bench.metrics_bench", "--first-call"] + ([] if prewarm else ["--no-prewarm"])
            line = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                  cwd=Path(__file__).resolve().parent.parent).stdout.strip().splitlines()[-1]
            r = json.loads(line)
            firsts.append(r["first"])
            seconds.append(r["second"])
            if r["prewarm"]:
                warm_ms.append(r["prewarm"]["ms"])
        firsts.sort()
        seconds.sort()
        p95 = min(n - 1, int(0.95 * n))
        print(f"| fresh process, {'pre-warmed' if prewarm else 'no pre-warm'} ({n} processes) | "
              f"first call {statistics.median(firsts):.1f} / {firsts[p95]:.1f} | second call "
              f"{statistics.median(seconds):.1f} / {seconds[p95]:.1f} | pre-warm "
              f"{statistics.median(warm_ms) if warm_ms else 0:.0f} ms |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-prewarm", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--fresh", type=int, default=0,
                    help="also time the default view's first call in this many fresh processes (pre-warmed or not)")
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--skip-load", action="store_true", help="reuse the data already in the database")
    ap.add_argument("--skip-rollup", action="store_true", help="reuse the rollup (refresh it incrementally)")
    ap.add_argument("--only", default="", help="query names to time, separated by | (default: all)")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a PostgreSQL database (postgresql+psycopg://...)")
    if args.first_call:
        return first_call(url, not args.no_prewarm)
    print(f"load average: {os.getloadavg()}", flush=True)
    from flask_migrate import upgrade

    from app import clock
    from app.factory import create_app
    from app.extensions import db
    from app.metrics import ab, report
    from app.metrics import queries as q

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REALTIME_DISABLED": True,
                      "PROCLY_INSTANCE": os.environ.get("PROCLY_INSTANCE", "/tmp/procly-bench")})
    with app.app_context():
        upgrade()
        now = clock.now().replace(microsecond=0)
        if not args.skip_load:
            info = build(db, args.tasks, now)
            print(f"loaded in {info['seconds']} s: {info['counts']}")
        from dataclasses import replace

        from app.metrics import rollup, rollup_read

        if not args.skip_rollup:
            t0 = time.perf_counter()
            rollup.rebuild(now=now)
            print(f"rollup rebuild: {time.perf_counter() - t0:.1f} s", flush=True)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as ac:
                ac.execute(text("VACUUM ANALYZE metric_rollups"))
                ac.execute(text("VACUUM ANALYZE metric_rollup_hist"))
        t0 = time.perf_counter()
        res = rollup.refresh()
        print(f"incremental refresh: {(time.perf_counter() - t0) * 1000:.0f} ms {res}", flush=True)
        print("rollup rows:", {t: db.session.execute(text(f"SELECT grain, count(*) FROM {t} GROUP BY grain")).all()
                               for t in ("metric_rollups", "metric_rollup_hist")}, flush=True)
        # the views are "up to now", as a request's are: now is taken after the refresh's watermark
        now = clock.now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        pid = db.session.execute(text("SELECT id FROM processes WHERE key = 'intake'")).scalar()
        views = {
            "Intake, last 7 days (default)": q.Filters.default(process_id=pid, now=now),
            # the page's presets: whole UTC days, today included
            "Intake, last 30 days": q.Filters(process_id=pid, start=today - timedelta(days=29), end=now, now=now),
            "Intake, last 90 days": q.Filters(process_id=pid, start=today - timedelta(days=89), end=now, now=now),
            "All processes, last 7 days": q.Filters.default(now=now),
            "Intake, one Stage, last 7 days": q.Filters.default(process_id=pid, stage_key="s3", now=now),
        }
        funcs = {
            "visit_counts": q.visit_counts, "lead_time": q.lead_time, "lead_time_by_version": q.lead_time_by_version,
            "throughput": q.throughput, "routes": q.routes, "stage_counts": q.stage_counts, "wip": q.wip,
            "cycle_times": q.cycle_times, "wait_times": q.wait_times, "sla": q.sla, "approvals": q.approvals,
            "stages (combined, as the dashboard runs it)": q.stages, "summary": q.summary,
            "dashboard (whole view)": report.dashboard,
            "dashboard, cold (rollup cache cleared first)": lambda f: (rollup_read.clear_cache(), report.dashboard(f)),
            "dashboard, after a refresh (today's rollup rows re-read)": lambda f: (forget_today(), report.dashboard(f)),
            "dashboard, exact (raw rows)": lambda f: report.dashboard(replace(f, exact=True)),
            "A/B intake-ab": lambda f: ab.compare("intake-ab", f),
        }
        print("\n| view | query | p50 ms | p95 ms |\n|---|---|---:|---:|")
        scans = {}
        if args.only:
            funcs = {k: v for k, v in funcs.items() if k in args.only.split("|")}
        for vname, f in views.items():
            for name, fn in funcs.items():
                r = timed(lambda: (fn(f), db.session.rollback()), args.repeat)
                print(f"| {vname} | {name} | {r['p50']} | {r['p95']} |", flush=True)
            scans[vname] = explain_all(db, lambda: report.dashboard(f)) + explain_all(
                db, lambda: ab.compare("intake-ab", f))
        print("\nSequential scans of big tables (EXPLAIN):")
        for vname, found in scans.items():
            print(f"- {vname}: {'none' if not found else '; '.join(sorted(set(found)))}")
    if args.fresh:
        print("\n| view | p50 / p95 ms | | |\n|---|---|---|---|")
        fresh_processes(args.fresh)
    print(f"load average: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
