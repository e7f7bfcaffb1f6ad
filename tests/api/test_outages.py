"""The API tells the truth during an outage. A real app process (tests/live_app.py) on the test
database and a Redis of its own that the test stops: writes still answer 201/200 and the Task
exists (its job is created by the sweep once Redis is back); an unreachable database is a JSON 503."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import func, select

from tests.api.conftest import publish
from tests.conftest import _free_port


class Http:
    """A small JSON client over urllib, with cookies (for the login page)."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.headers = base, ({"Authorization": f"Bearer {token}"} if token else {})
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def __call__(self, method: str, path: str, body=None, *, form: dict | None = None, headers=None):
        data, hdrs = None, {**self.headers, **(headers or {})}
        if body is not None:
            data, hdrs["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own: (url, stop, start)."""
    from app.redis_server import ensure_embedded, stop_embedded

    port, folder = _free_port(), tmp_path / "redis-own"
    url = ensure_embedded(folder, port=port)
    yield url, (lambda: stop_embedded(folder)), (lambda: ensure_embedded(folder, port=port))
    stop_embedded(folder)


COMPUTE = {"key": "score", "name": "Score", "type": "compute", "reads": ["budget"], "writes": ["eligible"],
           "config": {"assignments": {"eligible": "true"}}}


def _runs(task_id: int) -> dict:
    from app.extensions import db
    from app.models import StageRun

    db.session.expire_all()
    return {r.stage_key: r for r in db.session.scalars(select(StageRun).where(StageRun.task_id == task_id))}


def test_writes_with_redis_down_answer_truthfully_and_the_sweep_enqueues_later(app, world, api_as, own_redis,
                                                                                 live_app, monkeypatch, tmp_path):
    from app import clock
    from app.extensions import db
    from app.models import Task
    from app.runtime import recovery
    from app.infra.queue import QUEUE

    publish(world.api.designer, "intake", {"stages": [
        {"key": "collect", "name": "Collect", "type": "basic", "writes": ["name", "budget"]}, COMPUTE], "routes": []})
    r = world.api.admin.post("/api/v1/processes", json={"key": "auto", "name": "Auto", "table": "leads",
                                                        "team": "Intake"})
    assert r.status_code == 201
    publish(world.api.designer, "auto", {"stages": [COMPUTE], "routes": []})   # automated from the start
    redis_url, stop_redis, start_redis = own_redis
    staff = world.people.staff
    http = Http(live_app(REDIS_URL=redis_url), api_as(staff).headers["Authorization"][7:])
    stop_redis()

    status, headers, body = http("POST", "/api/v1/tasks", {"process": "auto"})
    assert status == 201 and headers["Content-Type"] == "application/json", body
    auto_id = json.loads(body)["id"]
    assert _runs(auto_id)["score"].status == "pending"      # saved; its job could not be enqueued
    status, headers, body = http("POST", "/api/v1/tasks", {"process": "intake", "values": {"name": "Ada"}})
    assert status == 201, body
    task_id = json.loads(body)["id"]
    status, _, body = http("POST", "/api/v1/tasks/batch", {"tasks": [{"process": "intake"}, {"process": "intake"}]})
    assert status == 201 and len(json.loads(body)) == 2, body
    status, _, body = http("PATCH", f"/api/v1/tasks/{task_id}", {"values": {"budget": 10}})
    assert status == 200 and json.loads(body)["values"]["budget"] == 10, body
    run = _runs(task_id)["collect"]
    status, _, body = http("POST", f"/api/v1/runs/{run.id}/complete", {"values": {}})
    assert status == 200 and json.loads(body)["status"] == "completed", body
    assert db.session.scalar(select(Task).where(Task.id == task_id)) is not None
    assert _runs(task_id)["score"].status == "pending"      # saved; its job could not be enqueued
    status, _, body = http("GET", f"/api/v1/tasks/{task_id}")
    assert status == 200                                      # reads never needed Redis
    assert "1 job(s) left to the sweep" in (tmp_path / "live.log").read_text()   # logged for operators
    assert db.session.scalar(select(func.count()).select_from(Task)) == 4

    # Redis is back, empty: the sweep finds the pending automated run without a job and enqueues it
    start_redis()
    import redis as redis_lib
    from rq import Queue

    from app.runtime.worker import make_worker

    with monkeypatch.context() as m:   # this test's app process uses the Redis that came back
        m.setitem(app.config, "REDIS_URL", redis_url)
        clock.set_clock(clock.FrozenClock(clock.now() + timedelta(minutes=2)))  # past the sweep's grace
        try:
            assert recovery.sweep()["requeued"] == 2
        finally:
            clock.set_clock(None)
        queued = Queue(QUEUE, connection=redis_lib.Redis.from_url(redis_url)).job_ids
        for tid in (auto_id, task_id):
            run = _runs(tid)["score"]
            assert f"run-{run.id}-{run.attempt}" in queued
        make_worker(app).work(burst=True, logging_level="WARNING")
    db.session.remove()
    for tid in (auto_id, task_id):
        assert _runs(tid)["score"].status == "completed"
        assert db.session.get(Task, tid).values["eligible"] is True


def test_pages_with_rate_limits_do_not_fail_when_redis_is_down(app, own_redis, live_app, make_user):
    from tests.helpers import csrf_from

    redis_url, stop_redis, _ = own_redis
    make_user("staff", email="someone@example.com")
    http = Http(live_app(REDIS_URL=redis_url))
    stop_redis()
    status, _, body = http("GET", "/login")
    assert status == 200
    token = csrf_from(body.decode())
    status, _, body = http("POST", "/login", form={"email": "someone@example.com", "password": "wrong",
                                                   "csrf_token": token})
    assert status in (200, 401) and b"Internal Server Error" not in body


def test_an_unreachable_database_is_a_json_503(app, live_app):
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/procly"
    http = Http(live_app(SQLALCHEMY_DATABASE_URI=dead), "prc_anything")
    for method, path, body in (("GET", "/api/v1/tasks", None), ("POST", "/api/v1/tasks", {"process": "x"}),
                               ("GET", "/api/v1/processes/intake", None)):
        status, headers, raw = http(method, path, body)
        assert status == 503, (path, raw)
        assert json.loads(raw)["error"]["code"] == "unavailable" and int(headers["Retry-After"]) > 0
        assert b"127.0.0.1" not in raw and b"psycopg" not in raw
