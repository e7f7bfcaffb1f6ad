"""The Webhook stage type against a real local HTTP server (tests/stages/partner.py), run by a real RQ
worker (in-process `AppWorker`, and `flask procly worker` in its own process for the end-to-end run):
the request built from templates, the answer read into Fields, retries with backoff under one
Idempotency-Key, the call log, and the config checks at saving."""
from __future__ import annotations

import pytest

from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker
from tests.stages.partner import Answer, Partner

PRIVATE_OK = {"PROCLY_WEBHOOK_ALLOW_PRIVATE": "1"}   # the partner listens on 127.0.0.1 (the admin's allowance)


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


@pytest.fixture
def partner():
    p = Partner()
    yield p
    p.close()


def hook(partner, key="call", *, reads=("name", "budget"), writes=("note", "b"), retry=None, **config) -> dict:
    base = {"method": "POST", "url": partner.url + "/customers/{{ name }}?src=procly",
            "allowed_hosts": [partner.host], "body": {"name": "{{ name }}", "budget": "{{ budget }}", "tag": "lead {{ name }}"},
            "results": {"note": "body.id", "b": "body.total * 2.0"}}
    return st(key, "webhook", reads=reads, writes=writes, config={**base, **config},
              **({"retry": retry} if retry else {}))


def test_a_task_runs_through_a_webhook_in_a_worker_process(world, partner):
    world.process("w", [hook(partner, headers={"X-Source": "procly {{ name }}"}), st("after", reads=["note"])])
    partner.plan = [Answer(201, {"id": "cus_42", "total": 21})]
    tid = world.start("w", {"name": "Ada Lovelace/../admin", "budget": 1500, "a": 7})
    proc = _flask_worker(world.app, env=PRIVATE_OK)
    try:
        def done():
            world.db.session.remove()
            return world.run(tid, "call").status in ("completed", "failed")
        wait_until(done, 90, "the webhook run finished", diagnose=proc.log)
    finally:
        proc.stop()
    run = world.run(tid, "call")
    assert run.status == "completed", run.error
    assert world.task(tid).values == {"name": "Ada Lovelace/../admin", "budget": 1500, "a": 7, "note": "cus_42", "b": 42}
    [seen] = partner.received
    # a Field value is encoded in the URL: it cannot change the path's shape or add a parameter
    assert seen.method == "POST" and seen.path == "/customers/Ada%20Lovelace%2F..%2Fadmin?src=procly"
    assert seen.json() == {"name": "Ada Lovelace/../admin", "budget": 1500, "tag": "lead Ada Lovelace/../admin"}
    assert seen.headers["Content-Type"] == "application/json" and seen.headers["X-Source"] == "procly Ada Lovelace/../admin"
    assert seen.headers["Idempotency-Key"].startswith(f"procly-{run.id}-")
    log = run.data["log"]
    assert len(log) == 1 and log[0].startswith(f"call: POST {partner.url}/customers/Ada%20Lovelace%2F..%2Fadmin?src=procly → 201 in ")
    assert log[0].endswith('ms: {"id": "cus_42", "total": 21}')


def test_only_the_readable_fields_reach_the_request(world, partner):
    stage = hook(partner, reads=("name",), writes=("note",), body={"all": "{{ name }}"}, results={"note": "body.echo"})
    world.process("w", [stage])
    partner.plan = [Answer(200, {"echo": "x"})]
    tid = world.start("w", {"name": "x", "budget": 99, "note": "private"})
    world.drain()
    assert world.run(tid, "call").status == "completed"
    assert partner.received[0].json() == {"all": "x"}


def test_server_errors_and_timeouts_are_tried_again_with_one_idempotency_key(world, partner):
    world.process("w", [hook(partner, timeout_seconds=1, retries=3)])
    partner.plan = [Answer(503, {"busy": True}), Answer(200, {}, delay=2.5), Answer(500, {"oops": 1}),
                    Answer(200, {"id": "ok", "total": 1})]
    tid = world.start("w", {"name": "n", "budget": 1})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "completed", run.error
    assert world.task(tid).values["note"] == "ok"
    assert len(partner.received) == 4
    assert len({s.headers["Idempotency-Key"] for s in partner.received}) == 1
    log = run.data["log"]
    assert [line.split(" → ")[1].split(" ")[0] for line in log] == ["503", "timed", "500", "200"]
    assert "timed out after 1 s" in log[1]


def test_a_server_that_keeps_failing_fails_the_stage_then_its_retry_policy_applies(world, partner):
    world.process("w", [hook(partner, retries=1, retry={"attempts": 2, "backoff": "0s"})])
    partner.plan = [Answer(502)] * 4
    tid = world.start("w", {"name": "n", "budget": 1})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "pending" and run.attempt == 2          # the Stage's own retry, after its backoff
    assert run.error == f"call: POST {partner.url}/customers/n?src=procly answered 502 after 2 tries"
    from app.runtime import jobs

    jobs.run_stage(run.id, 2)
    run = world.run(tid, "call")
    assert run.status == "failed" and world.task(tid).needs_attention
    assert len(partner.received) == 4
    # the same request on the next attempt: the same key, so the other system can tell a repeat
    assert len({s.headers["Idempotency-Key"] for s in partner.received}) == 1


def test_a_client_error_fails_at_once_without_trying_again(world, partner):
    world.process("w", [hook(partner, retries=3)])
    partner.plan = [Answer(422, {"error": "budget missing"})]
    tid = world.start("w", {"name": "n"})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed" and len(partner.received) == 1
    assert run.error.endswith("answered 422") and 'budget missing' in run.data["log"][0]


def test_an_answer_without_the_value_fails_with_the_reason(world, partner):
    world.process("w", [hook(partner)])
    partner.plan = [Answer(200, {"total": 3})]
    tid = world.start("w", {"name": "n"})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed"
    assert run.error.startswith('call: could not read "note" from the response (body.id)')


def test_a_get_sends_no_body_and_a_form_body_is_url_encoded(world, partner):
    world.process("g", [hook(partner, method="GET", results={"note": "body.ok ? 'yes' : 'no'"}, writes=("note",))])
    world.process("f", [hook(partner, body_format="form", body={"q": "{{ name }}", "n": "{{ budget }}"},
                             results={"note": "status == 200 ? 'fine' : 'no'"}, writes=("note",))])
    world.start("g", {"name": "a b"})
    tid = world.start("f", {"name": "a&b=c", "budget": 2})
    world.drain()
    get, form = partner.received
    assert get.method == "GET" and get.body == b""
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sorted(form.body.split(b"&")) == [b"n=2", b"q=a%26b%3Dc"]   # (PostgreSQL's JSONB keeps no key order)
    assert world.task(tid).values["note"] == "fine"


def _errors(world, stage) -> dict:
    designer = world.api_as(world.admin)
    world.process("v", [st("plain")])
    draft = designer.get("/api/v1/processes/v/draft").get_json()
    saved = designer.put("/api/v1/processes/v/draft", json={"definition": {"stages": [stage], "routes": []},
                                                            "revision": draft["revision"]})
    assert saved.status_code == 200, saved.get_json()
    return {e["path"]: e["message"] for e in saved.get_json()["errors"]}


@pytest.mark.parametrize("change, path, message", [
    ({"url": "http://{{ name }}.example.com/x"}, "url", "start with http:// or https:// and the host name"),
    ({"url": "ftp://example.com/x"}, "url", "start with http:// or https://"),
    ({"allowed_hosts": ["api.example.com"]}, "url", "is not in Allowed hosts"),
    ({"allowed_hosts": []}, "allowed_hosts", "name the hosts this Stage may call"),
    ({"allowed_hosts": ["bad host/x"]}, "allowed_hosts[0]", "write a host name"),
    ({"url": "http://HOST/x?k={{ budget }}"}, "url", "unknown placeholder budget"),
    ({"headers": {"Authorization": "Bearer {{ secrets.API_KEY }}"}}, "headers.Authorization",
     'the secret "API_KEY" is not in this Stage\'s secrets'),
    ({"headers": {"Host": "evil"}}, "headers", "Host is set by Procly"),
    ({"body": {"x": "{{ name|upper }}"}}, "body.x", "only {{ field }} placeholders are allowed"),
    ({"body": {"x": "{% for a in b %}"}}, "body.x", "only {{ field }} placeholders are allowed"),
    ({"results": {"b": "body.id"}}, "results.b", '"b" is not in writes'),
    ({"results": {"note": "body.("}}, "results.note", ""),
    ({"timeout_seconds": 200}, "timeout_seconds", "at most 30"),
    ({"method": "TRACE"}, "method", ""),
])
def test_config_problems_are_shown_on_the_stage(world, partner, change, path, message):
    stage = hook(partner, reads=("name",), writes=("note",), results={"note": "body.id"})
    config = {**stage["config"], **change}
    config = {k: (v.replace("HOST", partner.host) if isinstance(v, str) else v) for k, v in config.items()}
    errors = _errors(world, {**stage, "config": config})
    matching = {p: m for p, m in errors.items() if p.startswith(f"stages[0].config.{path}")}
    assert matching and message in " ".join(matching.values()), errors


def test_the_builder_lists_webhook_and_external_service(world):
    listed = {t["key"]: t for t in world.api.get("/api/v1/processes/stage-types").get_json()}
    for key in ("webhook", "external_service"):
        t = listed[key]
        assert t["automated"] and t["needs"]["egress"] and t["needs"]["secrets"]
        props = t["config_schema"]["properties"]
        assert props["method"]["enum"] == ["GET", "POST", "PUT", "PATCH", "DELETE"]
        assert props["results"]["x-widget"] == "field-map" and props["allowed_hosts"]["type"] == "array"
        assert all(p.get("title") for p in props.values())   # plain-words labels, no keys
    assert listed["external_service"]["config_schema"]["properties"]["wait_for"]["x-labels"] == [
        "It calls back", "Procly checks a status address"]
