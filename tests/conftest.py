"""Shared fixtures: a real Redis (embedded unless TEST_REDIS_URL), SQLite or PostgreSQL
(TEST_DATABASE_URL), the schema built once per session by the Alembic migrations, and
every test starting from empty tables and an empty Redis."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.processes import TEST_SECRETS_KEY
from sqlalchemy.engine import make_url

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tmp_root():
    with tempfile.TemporaryDirectory(prefix=f"procly-{WORKER}-", ignore_cleanup_errors=True) as d:
        yield Path(d)


@pytest.fixture(scope="session")
def redis_url(tmp_root):
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    from app.redis_server import ensure_embedded, stop_embedded

    url = ensure_embedded(tmp_root, port=_free_port())
    yield url
    # the session app's Socket.IO listener thread outlives this Redis and would log its reconnects
    # into pytest's closed capture streams: the session is over, nothing after this is worth logging
    import logging

    logging.disable(logging.CRITICAL)
    stop_embedded(tmp_root)


@pytest.fixture(scope="session")
def database_url(tmp_root):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_root / 'test.db'}"
        return
    url = make_url(base)
    name = f"{url.database}_{WORKER}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _app(tmp_root, redis_url, database_url):
    from flask_migrate import upgrade

    from app.factory import create_app

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SECRETS_KEY": TEST_SECRETS_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "PROCLY_INSTANCE": str(tmp_root / "instance"),
        "RATELIMIT_ENABLED": True,
        "WTF_CSRF_ENABLED": True,
        "WEBHOOK_ALLOW_PRIVATE": True,    # the fake receivers listen on 127.0.0.1 (SSRF tests turn it off)
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def app(_app):
    """The app with a pushed context; tables and Redis are emptied after each test."""
    from app.extensions import db

    ctx = _app.app_context()
    ctx.push()
    yield _app
    from app.metrics import rollup_read
    from app.runtime.context import definition as version_definitions

    version_definitions.cache_clear()  # Version ids are reused once the tables are emptied
    rollup_read.clear_cache()       # keyed by ids and counts, which the next test's rows may repeat
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    import redis

    redis.Redis.from_url(_app.config["REDIS_URL"]).flushdb()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """make_user(role, teams=("Intake",), email=None) -> User (committed)."""
    from sqlalchemy import select

    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import Team, User

    counter = iter(range(1, 10_000))

    def make(role="staff", teams=(), email=None, password="pw-secret-1"):
        n = next(counter)
        user = User(email=email or f"{role}{n}@example.com", name=f"{role.title()} {n}", role=role,
                    password_hash=hash_password(password))
        for name in teams:
            team = db.session.scalar(select(Team).where(Team.name == name)) or Team(name=name)
            user.teams.append(team)
        db.session.add(user)
        db.session.commit()
        return user

    return make


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client, secret):
        self.client, self.headers = client, {"Authorization": f"Bearer {secret}"}

    def __getattr__(self, method):
        def call(path, json=None, **kw):
            return getattr(self.client, method)(path, json=json, headers=self.headers, **kw)

        return call


@pytest.fixture
def api_as(app, client):
    """api_as(user) -> ApiClient authenticated with a fresh API token of that user, with the widest
    scope the user may have (admin for admins, write for everyone else)."""
    from app.auth.tokens import issue_token
    from app.extensions import db

    def make(user):
        _, secret = issue_token(user, "test", scope="admin" if user.role == "admin" else "write")
        db.session.commit()
        return ApiClient(client, secret)

    return make


# --- browser tests: Debian Chromium driven by Playwright, against a live server ---------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def base_url():
    """pytest-base-url's own fixture trips a pytest deprecation warning (warnings are errors here);
    the browser tests pass full URLs built from ``live_server``."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(_app):
    """Base URL of the app served (HTTP + Socket.IO) in a background thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", _free_port(), _app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # the served address is the app's base URL: links point at it, Socket.IO accepts only its Origin
    _app.config["PROCLY_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()


@pytest.fixture
def screenshot(request):
    """screenshot(page, name): saves test-artifacts/<test>-<name>.png and returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def login_page():
    """login_page(page, base_url, email, password='procly-demo-2026'): signs in through the login form."""

    def do(page, base_url: str, email: str, password: str = "procly-demo-2026"):
        page.goto(f"{base_url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)

    return do


# --- the app in a process of its own (tests that stop what it depends on; the schemathesis CLI) -

@pytest.fixture
def live_app(app, tmp_path):
    """live_app(**overrides) -> base URL of the app served in its own process (its log: live.log)."""
    procs = []

    def start(**overrides) -> str:
        config = {"TESTING": False, "SECRET_KEY": "test-secret", "PROCLY_INSTANCE": str(tmp_path / "live"),
                  "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "RATELIMIT_ENABLED": True,
                  "REDIS_URL": app.config["REDIS_URL"], **overrides}
        with open(tmp_path / "live.log", "a") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tests.live_app"], cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=log, env={**os.environ, "PROCLY_TEST_OVERRIDES": json.dumps(config)},
                                    text=True)
        procs.append(proc)
        port = proc.stdout.readline().strip()  # printed once it listens
        assert port.isdigit(), (tmp_path / "live.log").read_text()[-3000:]
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# --- the client-intake demo and signed-in browsers of the test client -------------------------

@pytest.fixture
def demo(app):
    """The client-intake demo (no Tasks): users admin@/designer@/staff@/approver@/manager@procly.local."""
    from app.demo import load_demo
    from app.extensions import db

    load_demo(tasks=0)
    db.session.commit()
    return app


@pytest.fixture
def users(demo):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}


@pytest.fixture
def new_task(demo):
    """new_task(values=None, process="intake") -> Task started by the runtime (committed)."""

    def make(values=None, process="intake"):
        from app.extensions import db
        from app.tasks import operations as service

        task = service.create_task({"process": process, "values": values or {"name": "Jo Client"}}, None, "system")
        db.session.commit()
        return task

    return make


@pytest.fixture
def web_login(client):
    """web_login(email, password="procly-demo-2026") -> the test client signed in through the login form."""

    def do(email, password="procly-demo-2026"):
        from tests.helpers import csrf_from

        token = csrf_from(client.get("/login").get_data(as_text=True))
        r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert r.status_code == 302, r.data
        return client

    return do
