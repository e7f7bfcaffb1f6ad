"""Every error under /api is the API's JSON error shape, rule by rule of the URL map: 401, 404, 405,
an unexpected exception (500) and an outage (503). A new /api rule missing from RULES fails here."""
from __future__ import annotations

import re

import pytest
import redis.exceptions
from sqlalchemy.exc import OperationalError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# what an anonymous caller gets from each /api rule: every rule must be named here
RULES = {
    "/api/docs": "public",
    "/api/openapi.json": "public",
    "/api/v1/webhooks/<key>": "signed",   # authenticated by its HMAC signature: an unknown key is 404
    "/api/v1/callbacks/<token>": "token",   # its signed single-use token is the credential: a bad one is 401
    **{rule: "login" for rule in (
        "/api/v1/alerts/rules", "/api/v1/alerts/rules/<int:rule_id>",
        "/api/v1/metrics/ab/<split_key>", "/api/v1/metrics/csv/<chart>", "/api/v1/metrics/dashboard",
        "/api/v1/metrics/lead-times", "/api/v1/metrics/options", "/api/v1/metrics/routes",
        "/api/v1/metrics/stages", "/api/v1/metrics/summary", "/api/v1/metrics/throughput",
        "/api/v1/migrations", "/api/v1/moves",
        "/api/v1/imports", "/api/v1/imports/<int:import_id>", "/api/v1/imports/<int:import_id>/errors.csv",
        "/api/v1/processes", "/api/v1/processes/<key>", "/api/v1/processes/<key>/archive",
        "/api/v1/processes/<key>/diff", "/api/v1/processes/<key>/draft", "/api/v1/processes/<key>/duplicate",
        "/api/v1/processes/<key>/export", "/api/v1/processes/<key>/publish", "/api/v1/processes/<key>/rollback",
        "/api/v1/processes/<key>/versions", "/api/v1/processes/<key>/versions/<int:number>",
        "/api/v1/processes/import", "/api/v1/processes/stage-types",
        "/api/v1/runs/<int:run_id>", "/api/v1/runs/retry", *(f"/api/v1/runs/<int:run_id>/{a}" for a in (
            "advance", "approve", "cancel", "claim", "complete", "pause", "reject", "release", "resume", "retry",
            "skip", "slots", "booking", "booking/slots", "booking/reschedule", "booking/cancel")),
        "/api/v1/conversations/<int:run_id>", "/api/v1/conversations/<int:run_id>/done",
        "/api/v1/conversations/<int:run_id>/replies", "/api/v1/ai/runs/<int:run_id>",
        "/api/v1/splits", "/api/v1/splits/<key>",
        "/api/v1/tables", "/api/v1/tables/<key>", "/api/v1/tables/<key>/fields",
        "/api/v1/tables/<key>/fields/<field_key>", "/api/v1/tables/<key>/fields/<field_key>/usage",
        "/api/v1/tasks", "/api/v1/tasks/<int:task_id>", "/api/v1/tasks/batch", "/api/v1/tasks/cancel",
        "/api/v1/tasks/<int:task_id>/cancel", "/api/v1/tasks/<int:task_id>/events", "/api/v1/tasks/signals",
        "/api/v1/tasks/<int:task_id>/signals",
        "/api/v1/tokens", "/api/v1/tokens/<int:token_id>", "/api/v1/webhooks",
        "/api/v1/admin/tokens", "/api/v1/admin/tokens/<int:token_id>",
        "/api/v1/secrets", "/api/v1/secrets/<int:secret_id>",
        "/api/v1/users", "/api/v1/users/<int:user_id>", "/api/v1/users/<int:user_id>/deactivate",
        "/api/v1/users/<int:user_id>/reactivate", "/api/v1/users/<int:user_id>/password-reset",
        "/api/v1/people", "/api/v1/teams",
        "/api/v1/runs/<int:run_id>/files", "/api/v1/tasks/<int:task_id>/files", "/api/v1/files/<int:file_id>",
        "/api/v1/files/<int:file_id>/content", "/api/v1/files/<int:file_id>/review",
    )},
}


def api_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.rule == "/api" or r.rule.startswith("/api/")),
                  key=lambda r: r.rule)


def concrete(rule: str, *, number: int = 999_999) -> str:
    """The rule with each variable filled by a value that names nothing."""
    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?[a-z_]+>",
                  lambda m: str(number) if m.group(1) == "int" else "ghost", rule)


def shape(r, status: int | tuple, code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.request.method, r.request.path, r.status_code, r.get_data(as_text=True)[:300])
    assert r.is_json, (r.request.path, r.mimetype, r.get_data(as_text=True)[:200])
    assert set(r.json) == {"error"} and set(r.json["error"]) == {"code", "message", "details"}, r.json
    if code:
        assert r.json["error"]["code"] == code, r.json
    return r.json["error"]


def calls(app):
    for rule in api_rules(app):
        for method in sorted(set(rule.methods) & set(METHODS)):
            yield rule, method


def test_every_api_rule_is_named(app):
    assert {r.rule for r in api_rules(app)} == set(RULES)


def test_anonymous_calls_are_json_401(app, client):
    for rule, method in calls(app):
        kind = RULES[rule.rule]
        r = client.open(concrete(rule.rule), method=method, json={} if method != "GET" else None)
        if kind == "login":
            shape(r, 401, "unauthorized")
        elif kind == "signed":
            shape(r, 404, "not_found")
        elif kind == "token":
            shape(r, 401, "bad_token")
        else:
            assert r.status_code == 200, rule.rule


def test_missing_objects_and_huge_ids_are_json_4xx(app, make_user, api_as):
    admin = api_as(make_user("admin"))
    for rule, method in calls(app):
        if RULES[rule.rule] == "public":
            continue
        body = {} if method != "GET" else None
        for path in {concrete(rule.rule), concrete(rule.rule, number=2**63), concrete(rule.rule, number=10**30)}:
            r = getattr(admin, method.lower())(path, json=body)
            if RULES[rule.rule] == "token":
                shape(r, 401, "bad_token")
            elif "<" in rule.rule or method != "GET":
                shape(r, (400, 404, 409, 422))
            else:
                assert r.status_code == 200, (rule.rule, r.json)
        if "<int:" in rule.rule:  # no row can have such an id: no rule matches
            shape(getattr(admin, method.lower())(concrete(rule.rule, number=2**63), json=body), 404)


def test_methods_a_rule_lacks_are_json_405(app, make_user, api_as):
    admin = api_as(make_user("admin"))
    urls = app.url_map.bind("localhost")
    for rule in api_rules(app):
        path = concrete(rule.rule)
        allowed = set(urls.allowed_methods(path))  # /processes/import is also /processes/<key>
        for method in sorted(set(METHODS) - allowed):
            r = getattr(admin, method.lower())(path, json={})
            shape(r, 405, "method_not_allowed")
            assert set(r.headers["Allow"].replace(" ", "").split(",")) >= allowed & set(METHODS)


@pytest.fixture
def failing_views(app, monkeypatch):
    """failing_views(exc): every /api view raises `exc` (the app's handlers must answer)."""

    def install(exc: Exception):
        for rule in api_rules(app):
            def boom(*_a, **_kw):
                raise exc
            monkeypatch.setitem(app.view_functions, rule.endpoint, boom)

    return install


def test_an_unexpected_exception_is_a_json_500_without_internals(app, client, failing_views, caplog):
    failing_views(RuntimeError("secret internals: /srv/procly/app.py line 12"))
    for rule, method in calls(app):
        r = client.open(concrete(rule.rule), method=method, headers={"Accept": "text/html"})
        err = shape(r, 500, "internal_error")
        assert "secret" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)
        assert err["details"] == {}
    assert "secret internals" in caplog.text  # logged for the operators instead


@pytest.mark.parametrize("exc", [
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    OperationalError("SELECT 1", {}, Exception('connection to server at "127.0.0.1", port 5432 failed')),
], ids=["redis-down", "redis-timeout", "database-down"])
def test_an_outage_is_a_json_503_with_retry_after(app, client, failing_views, exc):
    failing_views(exc)
    for rule, method in calls(app):
        r = client.open(concrete(rule.rule), method=method)
        shape(r, 503, "unavailable")
        assert int(r.headers["Retry-After"]) > 0
        assert "127.0.0.1" not in r.get_data(as_text=True)


def test_pages_keep_html_for_unexpected_errors(app, client, monkeypatch):
    def boom():
        raise RuntimeError("page failure")

    monkeypatch.setitem(app.view_functions, "web.login", boom)
    with pytest.raises(RuntimeError):  # TESTING propagates; in production Flask's HTML 500 page
        client.get("/login")
