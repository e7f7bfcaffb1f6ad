"""The External Service stage type against a real local HTTP server: it sends its request, then waits —
for a callback on the run's signed, single-use URL (POST /api/v1/callbacks/<token>), or for a status
address polled on the timer machinery by a real `flask procly worker` process. Forged, replayed and
late callbacks are refused and recorded; a timeout Route handles silence."""
from __future__ import annotations

import calendar
import json

import pytest
from sqlalchemy import select

from app import clock
from app.runtime import callbacks
from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker
from tests.stages.partner import Answer, Partner

WORKER_ENV = {"PROCLY_WEBHOOK_ALLOW_PRIVATE": "1", "PROCLY_POLL_MIN_SECONDS": "1"}


@pytest.fixture
def world(app, make_user, api_as, monkeypatch):
    monkeypatch.setitem(app.config, "POLL_MIN_SECONDS", 1)
    return World(app, make_user, api_as)


@pytest.fixture
def partner():
    p = Partner()
    yield p
    p.close()


def service(partner, *, writes=("note", "b"), **config) -> dict:
    base = {"url": partner.url + "/jobs", "allowed_hosts": [partner.host],
            "body": {"name": "{{ name }}", "reply_to": "{{ callback_url }}"}}
    return st("call", "external_service", reads=["name"], writes=list(writes), config={**base, **config})


def _worker(world):
    # the worker builds callback URLs from PROCLY_BASE_URL: the same one this app has (a live-server
    # test earlier in this process may have changed it)
    return _flask_worker(world.app, env={**WORKER_ENV, "PROCLY_BASE_URL": world.app.config["PROCLY_BASE_URL"]})


def _token(url: str) -> str:
    assert callbacks.PATH in url, url
    return url.split(callbacks.PATH, 1)[1]


def _refusals(world) -> list:
    from app.models import Event

    world.db.session.expire_all()
    return list(world.db.session.scalars(select(Event).where(Event.type == "callback.refused").order_by(Event.id)))


def _waiting(world, tid, partner):
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "in_progress", run.error
    return run, _token(partner.received[-1].json()["reply_to"])


def test_a_callback_completes_the_run_in_a_worker_process(world, partner, client):
    world.process("x", [service(partner), st("after", reads=["note"])])
    tid = world.start("x", {"name": "Ada"})
    proc = _worker(world)
    try:
        wait_until(lambda: world.run(tid, "call").status == "in_progress", 90, "the request sent",
                   diagnose=proc.log)
    finally:
        proc.stop()
    [seen] = partner.received
    url = seen.json()["reply_to"]
    assert seen.json()["name"] == "Ada" and seen.headers["Procly-Callback-Url"] == url
    assert url.startswith(world.app.config["PROCLY_BASE_URL"] + "/api/v1/callbacks/")
    token = _token(url)
    answer = client.post(f"/api/v1/callbacks/{token}", json={"note": "approved", "b": 7})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"run": world.run(tid, "call").id, "task": tid, "status": "completed"}
    assert world.task(tid).values == {"name": "Ada", "note": "approved", "b": 7}
    assert world.statuses(tid) == {"call": "completed", "after": "pending"}
    # the same callback again: single use
    again = client.post(f"/api/v1/callbacks/{token}", json={"note": "overwritten"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "replayed"
    assert world.task(tid).values["note"] == "approved"
    [refused] = _refusals(world)
    assert refused.task_id == tid and refused.data["code"] == "replayed" and refused.data["status"] == 409


def test_forged_tokens_are_refused_and_recorded(world, partner, client):
    world.process("x", [service(partner)])
    tid = world.start("x", {"name": "n"})
    run, token = _waiting(world, tid, partner)
    run_part, attempt, expires, sig = token.split("-")
    other_run = callbacks.make(run.id + 1, 1, int(expires, 36)).split("-")[0]
    forged = [f"{run_part}-{attempt}-{expires}-{'a' * 26}",          # a made-up signature
              f"{other_run}-{attempt}-{expires}-{sig}",               # another run under this signature
              f"{run_part}-{attempt}-{'zzzzzzzz'}-{sig}",             # a later expiry under this signature
              "not-a-token", "x" * 300]
    for bad in forged:
        r = client.post(f"/api/v1/callbacks/{bad}", json={"note": "forged"})
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_token", bad
    assert world.run(tid, "call").status == "in_progress" and world.task(tid).values.get("note") is None
    refusals = _refusals(world)
    assert len(refusals) == len(forged) and all(e.data["code"] == "bad_token" for e in refusals)
    assert client.post(f"/api/v1/callbacks/{token}", json={"note": "real"}).status_code == 200


def test_late_callbacks_are_refused(world, partner, client):
    world.process("x", [{**service(partner), "retry": {"attempts": 2, "backoff": "1h"}}])
    tid = world.start("x", {"name": "n"})
    staff = world.api_as(world.admin)
    run, token = _waiting(world, tid, partner)
    now = calendar.timegm(clock.now().timetuple())
    expired = callbacks.make(run.id, run.attempt, now - 1)
    r = client.post(f"/api/v1/callbacks/{expired}", json={"note": "late"})
    assert r.status_code == 410 and "expired" in r.get_json()["error"]["message"]
    other_attempt = callbacks.make(run.id, run.attempt + 1, now + 3600)
    r = client.post(f"/api/v1/callbacks/{other_attempt}", json={"note": "late"})
    assert r.status_code == 410 and "attempt" in r.get_json()["error"]["message"]
    # the run stops waiting (staff cancel it): its token is late from then on
    assert staff.post(f"/api/v1/runs/{run.id}/cancel", json={"reason": "no longer needed"}).status_code == 200
    r = client.post(f"/api/v1/callbacks/{token}", json={"note": "late"})
    assert r.status_code == 410 and "cancelled" in r.get_json()["error"]["message"]
    assert [e.data["code"] for e in _refusals(world)] == ["late", "late", "late"]
    assert world.task(tid).values.get("note") is None


def test_a_timeout_route_handles_silence_and_the_late_callback_is_refused(world, partner, client):
    world.process("chase", [st("review")])
    world.process("warm", [st("s", "compute", writes=["a"], config={"assignments": {"a": "1"}})])
    world.process("x", [service(partner)], routes=[
        {"key": "silence", "name": "No answer in time", "stage": "call",
         "trigger": {"type": "timeout", "after": "3s"}, "target": {"process": "chase"}}])
    warm = world.start("warm")
    proc = _worker(world)
    try:   # the Task starts once the worker runs: its 3 s clock is not spent on the worker's start
        wait_until(lambda: world.task(warm).status == "completed", 120, "the worker is up", diagnose=proc.log)
        tid = world.start("x", {"name": "n"})
        wait_until(lambda: world.run(tid, "call").status == "in_progress", 60, "the request sent", diagnose=proc.log)
        wait_until(lambda: world.task(tid).process.key == "chase", 120, "the silent call timed out",
                   diagnose=proc.log)
    finally:
        proc.stop()
    assert world.run(tid, "call").status == "moved"
    token = _token(partner.received[0].json()["reply_to"])
    r = client.post(f"/api/v1/callbacks/{token}", json={"note": "too late"})
    assert r.status_code == 410 and r.get_json()["error"]["code"] == "late"
    assert world.task(tid).values.get("note") is None


def test_the_payload_is_checked_against_writes_and_the_token_survives_a_bad_one(world, partner, client):
    world.process("x", [service(partner)])
    tid = world.start("x", {"name": "n"})
    run, token = _waiting(world, tid, partner)
    cases = [({"name": "renamed"}, 422, "values.name"), ({"b": "not a number"}, 422, "values.b"),
             ([1, 2], 400, "body")]
    for body, status, key in cases:
        r = client.post(f"/api/v1/callbacks/{token}", json=body)
        assert r.status_code == status and key in r.get_json()["error"]["details"], r.get_json()
    r = client.post(f"/api/v1/callbacks/{token}", data=b"{not json", content_type="application/json")
    assert r.status_code == 400
    r = client.post(f"/api/v1/callbacks/{token}", data=b'{"note": "' + b"x" * 300_000 + b'"}',
                    content_type="application/json")
    assert r.status_code == 413
    assert world.task(tid).values == {"name": "n"} and world.run(tid, "call").status == "in_progress"
    refused = _refusals(world)
    assert [e.data["status"] for e in refused] == [422, 422, 400, 400, 413]
    assert refused[0].stage_run_id == run.id and "values.name" in json.dumps(refused[0].data["details"])
    assert client.post(f"/api/v1/callbacks/{token}", json={"b": 3}).status_code == 200
    assert world.task(tid).values == {"name": "n", "b": 3}


def test_results_read_the_callback_body(world, partner, client):
    world.process("x", [service(partner, results={"note": "body.decision.label", "b": "size(body.items)"})])
    tid = world.start("x", {"name": "n"})
    run, token = _waiting(world, tid, partner)
    r = client.post(f"/api/v1/callbacks/{token}", json={"decision": {}})
    assert r.status_code == 422 and 'could not read "' in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/callbacks/{token}", json={"decision": {"label": "ok"}, "items": [1, 2, 3],
                                                         "ignored": True})
    assert r.status_code == 200 and world.task(tid).values == {"name": "n", "note": "ok", "b": 3}


def test_a_callback_that_races_ahead_of_its_run_is_asked_to_come_back(world, partner, client):
    world.process("x", [service(partner)])
    tid = world.start("x", {"name": "n"})
    run = world.run(tid, "call")      # pending: its request is not sent yet (its job has not committed)
    early = callbacks.make(run.id, run.attempt, calendar.timegm(clock.now().timetuple()) + 60)
    r = client.post(f"/api/v1/callbacks/{early}", json={"note": "fast"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert _refusals(world) == []


def test_staff_may_complete_a_waiting_run_in_the_callbacks_place(world, partner):
    world.process("x", [service(partner)])
    tid = world.start("x", {"name": "n"})
    staff = world.api_as(world.admin)
    run, _ = _waiting(world, tid, partner)
    r = staff.post(f"/api/v1/runs/{run.id}/complete", json={"values": {"note": "by hand"}})
    assert r.status_code == 200, r.get_json()
    assert world.run(tid, "call").status == "completed" and world.task(tid).values["note"] == "by hand"


def test_polling_a_status_address_on_the_timer_machinery(world, partner):
    """A real worker process: the request answers a job id; the status address (built from it) says
    running, fails once (503: looked at again), then done with a score; another job reports an error,
    which fails its Stage."""
    partner.paths["/jobs"] = [Answer(202, {"id": "j-7"})]
    partner.paths["/jobs/j-7"] = [Answer(200, {"state": "running"}), Answer(503, {}), Answer(200, {"state": "running"}),
                                  Answer(200, {"state": "done", "score": 9})]
    partner.paths["/bad/jobs"] = [Answer(202, {"id": "j-8"})]
    partner.paths["/bad/jobs/j-8"] = [Answer(200, {"state": "error", "why": "no capacity"})]
    poll = {"wait_for": "poll", "poll_every": "1s", "done_when": 'body.state == "done"',
            "failed_when": 'body.state == "error"', "results": {"b": "body.score"}, "body": {"name": "{{ name }}"}}
    world.process("ok", [service(partner, status_url=partner.url + "/jobs/{{ response.id }}", **poll)])
    world.process("bad", [service(partner, status_url=partner.url + "/bad/jobs/{{ response.id }}",
                                  **{**poll, "url": partner.url + "/bad/jobs"})])
    ok, bad = world.start("ok", {"name": "n"}), world.start("bad", {"name": "m"})
    proc = _worker(world)
    try:
        def settled():
            world.db.session.remove()
            return world.run(ok, "call").status == "completed" and world.run(bad, "call").status == "failed"
        wait_until(settled, 120, "one poll done, one failed", diagnose=proc.log)
    finally:
        proc.stop()
    assert world.task(ok).values["b"] == 9
    polls = [s for s in partner.received if s.path.startswith("/jobs/")]
    assert len(polls) == 4 and all(s.method == "GET" and s.body == b"" for s in polls)
    log = world.run(ok, "call").data["log"]
    assert "status: looking again in 1s" in log and log[-1] == "status: done"
    bad_run = world.run(bad, "call")
    assert bad_run.error == 'External Service: the outside system reports a failure (body.state == "error")'
    assert '"why": "no capacity"' in bad_run.data["log"][-1]
    from app.models import StageTimer

    open_timers = world.db.session.scalars(select(StageTimer).where(StageTimer.fired_at.is_(None))).all()
    assert open_timers == []       # finishing a run ends its polling


def test_polling_survives_a_killed_worker_and_an_emptied_redis(world, partner):
    """Polling goes on after faults: once the status address has been looked at, the worker process is
    SIGKILLed and Redis is emptied (FLUSHALL). A new worker picks the polling up from the database's
    timer, the run completes once, and the request that started the job was sent exactly once."""
    from app.infra.queue import redis_conn
    from app.models import Event

    partner.paths["/jobs"] = [Answer(202, {"id": "j-9"})]
    partner.paths["/jobs/j-9"] = [Answer(200, {"state": "running"}), Answer(200, {"state": "running"}),
                                  Answer(200, {"state": "running"}), Answer(200, {"state": "done", "score": 3})]
    world.process("ok", [service(partner, status_url=partner.url + "/jobs/{{ response.id }}", wait_for="poll",
                                 poll_every="1s", done_when='body.state == "done"', results={"b": "body.score"},
                                 body={"name": "{{ name }}"})])
    tid = world.start("ok", {"name": "n"})
    first = _worker(world)
    try:
        wait_until(lambda: any(s.path == "/jobs/j-9" for s in partner.received), 120, "a first poll",
                   diagnose=first.log)
        first.kill()
        first.wait(30)
    finally:
        first.stop()
    redis_conn().flushall()
    world.db.session.remove()
    assert world.run(tid, "call").status == "in_progress"      # killed between two looks
    second = _worker(world)
    try:
        def completed():
            world.db.session.remove()
            return world.run(tid, "call").status == "completed"
        wait_until(completed, 120, "polling resumed by the new worker", diagnose=second.log)
    finally:
        second.stop()
    assert world.task(tid).values["b"] == 3
    assert [s.method for s in partner.received if s.path == "/jobs"] == ["POST"]     # the job was started once
    done = world.db.session.scalars(select(Event).where(Event.stage_run_id == world.run(tid, "call").id,
                                                        Event.to_status == "completed")).all()
    assert len(done) == 1


def test_poll_config_is_checked(world, partner):
    designer = world.api_as(world.admin)
    world.process("v", [st("plain")])
    draft = designer.get("/api/v1/processes/v/draft").get_json()
    stage = service(partner, wait_for="poll", status_url="https://elsewhere.example.com/s/{{ response.id }}",
                    poll_every="1s", done_when="body.state ==", body={"x": "{{ response.id }}"})
    saved = designer.put("/api/v1/processes/v/draft", json={"definition": {"stages": [stage], "routes": []},
                                                            "revision": draft["revision"]})
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert "elsewhere.example.com:443 is not in Allowed hosts" in errors["stages[0].config.status_url"]
    assert "stages[0].config.done_when" in errors
    assert "only known to the status URL" in errors["stages[0].config.body.x"]
    world.app.config["POLL_MIN_SECONDS"] = 5
    saved = designer.put("/api/v1/processes/v/draft", json={"definition": {"stages": [stage], "routes": []},
                                                            "revision": saved.get_json()["revision"]})
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert errors["stages[0].config.poll_every"] == "at least 5s"


def test_the_callback_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    op = spec["paths"]["/api/v1/callbacks/{token}"]["post"]
    assert op["security"] == [] and {"200", "401", "409", "410", "413", "422", "503"} <= set(op["responses"])
    assert "requestBody" in op
