"""Staff surfaces at scale: "My work", the Table view with filters and sorts, and the Task page, over the
1 M-Task PostgreSQL database bench.metrics_bench builds (run it first, same DATABASE_URL).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench \\
        python -m bench.staff_surfaces --prepare        # once, not timed
    DATABASE_URL=... flock /work/bench.lock python -m bench.staff_surfaces --repeat 30

--prepare turns the metrics data into a staff's world (idempotent): Fields on the Table (name, email,
city, budget) and values on every Task, Stages with names, reads/writes and RAID roles in every
Version (Stage s3 of Process "Referral" is the Team "Intake desk"'s, the other Stages the Team "Back
office"'s: the open s3 runs of Referral, ~1/8 of the running work, are the desk's queue), a staff user of that Team, and one Task with a long history (60 more Events, comments on its
Stage Runs).

Server time = the request's time in the app: each page is requested through the Flask test client
of a signed-in staff user (no network, no browser), p50/p95 over --repeat calls after one warm-up;
"app CPU" is the Python process's own CPU time per request (load-independent; the database's time is
not in it).
The SQL of one call of each page is then EXPLAINed and any sequential scan of a big table listed,
with the number of statements the page ran (N+1s show there)."""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

BIG = ("tasks", "task_visits", "stage_runs", "stage_timers", "events", "comments", "threads")
EMAIL, PERSON, PASSWORD, TEAM = "desk@bench.example", "claims@bench.example", "bench-staff-2026", "Intake desk"
FIELDS = [("name", "Name", "text"), ("email", "Email", "email"), ("city", "City", "text"),
          ("budget", "Budget", "number")]


def prepare(db) -> dict:
    from app.auth.passwords import hash_password
    from app.models import Field, Process, Table, Team, User, Version

    s = db.session
    table = s.scalar(db.select(Table).where(Table.key == "clients"))
    team = s.scalar(db.select(Team).where(Team.name == TEAM)) or Team(name=TEAM)
    if s.scalar(db.select(Team).where(Team.name == "Back office")) is None:
        s.add(Team(name="Back office"))
    user = s.scalar(db.select(User).where(User.email == EMAIL))
    if user is None:
        user = User(email=EMAIL, name="Desk Staff", role="staff", password_hash=hash_password(PASSWORD))
        user.teams.append(team)
        s.add(user)
    person = s.scalar(db.select(User).where(User.email == PERSON))
    if person is None:
        person = User(email=PERSON, name="Claiming Staff", role="staff", password_hash=hash_password(PASSWORD))
        s.add(person)
        s.flush()
    # a personal share: the 120 newest open s3 runs of Intake, claimed by `person` (My work lists the
    # runs one has claimed on Stages one sees, besides those one is Responsible for)
    s.execute(text("""UPDATE stage_runs SET claimed_by_id = :u, claimed_at = ready_at WHERE id IN (
        SELECT r.id FROM stage_runs r JOIN processes p ON p.id = r.process_id
        WHERE p.key = 'intake' AND r.stage_key = 's3' AND r.finished_at IS NULL ORDER BY r.id DESC LIMIT 120)"""),
              {"u": person.id})
    for i, (key, name, type_) in enumerate(FIELDS):
        if s.scalar(db.select(Field).where(Field.table_id == table.id, Field.key == key)) is None:
            s.add(Field(table_id=table.id, key=key, name=name, type=type_, position=i, options={}))
    referral = s.scalar(db.select(Process).where(Process.key == "referral"))
    keys = [k for k, _, _ in FIELDS]
    for v in s.scalars(db.select(Version)):
        stages = []
        for k in range(1, 6):
            responsible = [f"team:{TEAM}"] if (k == 3 and v.process_id == referral.id) else ["team:Back office"]
            stages.append({"key": f"s{k}", "name": f"Step {k}", "type": "basic", "reads": keys,
                           "writes": ["budget"] if k == 3 else [], "roles": {"responsible": responsible},
                           "visibility": {"internal": [], "external": "none"}})
        # Versions are immutable to the app (an ORM hook refuses): the bench rewrites its own data in SQL
        s.execute(text("UPDATE versions SET definition = CAST(:d AS jsonb) WHERE id = :id"),
                  {"d": json.dumps({"stages": stages, "routes": []}), "id": v.id})
    s.commit()
    conn = s.connection()
    if conn.execute(text("SELECT count(*) FROM tasks WHERE values = '{}'::jsonb")).scalar():
        t0 = time.perf_counter()
        conn.execute(text("""UPDATE tasks SET values = jsonb_build_object(
            'name', 'Client ' || id, 'email', 'client' || id || '@example.com',
            'city', (ARRAY['Lyon', 'Paris', 'Nantes', 'Lille', 'Brest'])[1 + id % 5], 'budget', (id * 37) % 5000)
            WHERE values = '{}'::jsonb"""))
        s.commit()
        print(f"values set on every Task in {time.perf_counter() - t0:.0f} s", flush=True)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as ac:
            ac.execute(text("VACUUM ANALYZE tasks"))
    task_id = history_task(db)
    s.commit()
    return {"user": EMAIL, "task": task_id}


def history_task(db) -> int:
    """A completed Intake Task with five Stage Runs, given 60 more Events and a thread of comments."""
    from app.models import Comment, Event, StageRun, Thread

    s = db.session
    tid = s.execute(text("SELECT t.id FROM tasks t JOIN processes p ON p.id = t.process_id "
                         "WHERE p.key = 'intake' AND t.status = 'completed' ORDER BY t.id DESC LIMIT 1")).scalar()
    runs = s.scalars(db.select(StageRun).where(StageRun.task_id == tid).order_by(StageRun.id)).all()
    if s.execute(text("SELECT count(*) FROM events WHERE task_id = :t AND type = 'comment.added'"),
                 {"t": tid}).scalar():
        return tid
    for i in range(60):
        r = runs[i % len(runs)]
        s.add(Event(type="comment.added" if i % 3 == 0 else "stage.status", task_id=tid, stage_run_id=r.id,
                    process_id=r.process_id, actor="system", to_status=None if i % 3 == 0 else "in_progress",
                    data={"stage": r.stage_key}, created_at=r.ready_at))
    for r in runs:
        th = Thread(stage_run_id=r.id)
        s.add(th)
        s.flush()
        for j in range(4):
            s.add(Comment(thread_id=th.id, author_label="Desk Staff", body=f"Note {j} on {r.stage_key}",
                          external=j % 2 == 1, created_at=r.ready_at))
    return tid


def signed_in(app, email: str = EMAIL):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    return client


def timed(client, url: str, repeat: int) -> dict:
    r = client.get(url)      # warm
    assert r.status_code == 200, (url, r.status_code)
    xs, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        r = client.get(url)
        xs.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        assert r.status_code == 200
    xs.sort()
    return {"p50": round(statistics.median(xs), 1), "p95": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1),
            "cpu": round(statistics.median(cpu), 1), "bytes": len(r.data)}


def explain(db, client, url: str) -> tuple[int, list[str]]:
    """The page's statements (one call) and the sequential scans of big tables in their plans."""
    stmts = []

    def grab(conn, cursor, statement, params, context, executemany):
        stmts.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    found = []
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql, params in stmts:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cur.execute("EXPLAIN " + sql, params)
            for (line,) in cur.fetchall():
                if "Seq Scan on" in line and any(f"Seq Scan on {t} " in line + " " for t in BIG):
                    found.append(f"{line.strip()}  <- {' '.join(sql.split())[:160]}")
    finally:
        raw.close()
    return len(stmts), found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prepare", action="store_true", help="set up the staff's world (not timed)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--only", default="", help="page names to time, separated by |")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to the PostgreSQL database bench.metrics_bench built")
    os.environ.setdefault("PROCLY_REQUEST_LOG", "0")   # as under gunicorn (gunicorn.conf.py): its access log instead
    from app.extensions import db
    from app.factory import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REALTIME_DISABLED": True, "RATELIMIT_ENABLED": False,
                      "PROCLY_INSTANCE": os.environ.get("PROCLY_INSTANCE", "/tmp/procly-bench")})
    with app.app_context():
        if args.prepare:
            print(prepare(db), flush=True)
            return
        tid = history_task(db)
        db.session.commit()
        counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("tasks", "stage_runs", "events")}
        db.session.remove()
    client, person = signed_in(app), signed_in(app, PERSON)
    pages = {
        "My work (a personal share: 120 claimed runs)": (person, "/queue"),
        "My work (the desk's whole team queue)": (client, "/queue"),
        "My work (team queue), in progress only": (client, "/queue?stage=s3&status=in_progress"),
        "My work (team queue), page 6": (client, "/queue?page=6"),
        "My work (team queue), the live refresh of page 2": (client, "/queue?partial=1&page=2"),
        "Table view (default: newest first)": (client, "/queue/tables/clients"),
        "Table view, page 3": (client, "/queue/tables/clients?page=3"),
        "Table view, status + City filter": (client, "/queue/tables/clients?status=running&f_city=lyon"),
        "Table view, Name filter, sorted by Budget desc":
            (client, "/queue/tables/clients?f_name=client+99&sort=budget&dir=desc"),
        "Table view, sorted by City, page 40": (client, "/queue/tables/clients?sort=city&page=40"),
        "Task page (Task with history)": (client, f"/queue/tasks/{tid}"),
    }
    if args.only:
        pages = {k: v for k, v in pages.items() if k in args.only.split("|")}
    print(f"database: {counts}; load average before: {os.getloadavg()}")
    print("\n| page | URL | p50 ms | p95 ms | app CPU ms (p50) | statements | HTML kB |\n|---|---|---:|---:|---:|---:|---:|")
    scans = {}
    with app.app_context():
        for name, (who, u) in pages.items():
            r = timed(who, u, args.repeat)
            n, found = explain(db, who, u)
            scans[name] = found
            print(f"| {name} | `{u}` | {r['p50']} | {r['p95']} | {r['cpu']} | {n} | {r['bytes'] // 1024} |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")
    print("\nSequential scans of big tables (EXPLAIN):")
    for name, found in scans.items():
        print(f"- {name}: {'none' if not found else '; '.join(sorted(set(found)))}")


if __name__ == "__main__":
    main()
