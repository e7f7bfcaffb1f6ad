"""/healthz, /readyz and /metrics: JSON answers, readiness that names what is wrong (a database not
migrated, Redis unreachable, no worker), and /metrics closed without its token."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from app.infra import telemetry
from app.infra.redis import connection
from tests.servers import free_port


def _get(url: str, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_healthz_answers_without_touching_anything(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_readyz_needs_a_worker_heartbeat(app, client):
    app.extensions.pop("procly_ready", None)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json["status"] == "not ready"
    assert r.json["checks"]["database"]["ok"] and r.json["checks"]["redis"]["ok"]
    assert not r.json["checks"]["worker"]["ok"] and "no worker heartbeat" in r.json["checks"]["worker"]["detail"]
    telemetry.heartbeat(connection())
    assert client.get("/readyz").status_code == 503     # cached for a second: a load balancer's every call is cheap
    time.sleep(1.1)   # the cache's own period (no event to wait on: it is a clock)
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json["ready"] and "heartbeat" in r.json["checks"]["worker"]["detail"]
    connection().set(telemetry.HEARTBEAT_KEY, f"{time.time() - 3600:.3f}")   # the last worker died an hour ago
    app.extensions.pop("procly_ready", None)
    r = client.get("/readyz")
    assert r.status_code == 503 and "ago" in r.json["checks"]["worker"]["detail"]
    app.extensions.pop("procly_ready", None)


def test_readyz_names_an_unmigrated_database_and_an_unreachable_redis(live_app, tmp_path):
    base = live_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}",
                    REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    status, body = _get(base + "/readyz")
    assert status == 503 and time.monotonic() - started < 30
    checks = json.loads(body)["checks"]
    assert not checks["database"]["ok"] and "not migrated" in checks["database"]["detail"]
    assert not checks["redis"]["ok"] and "unreachable" in checks["redis"]["detail"]
    assert _get(base + "/healthz")[0] == 200      # alive, just not ready


def test_metrics_need_their_token(app, client, make_user, api_as):
    app.config["METRICS_TOKEN"] = ""
    assert client.get("/metrics").status_code == 404                 # not configured: not served here
    app.config["METRICS_TOKEN"] = "s3cret-metrics"
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        # a user's own API token is not the metrics token, even an admin's
        admin = api_as(make_user("admin"))
        assert client.get("/metrics", headers=admin.headers).status_code == 401
        r = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert r.status_code == 200 and r.content_type.startswith("text/plain")
        assert "procly_http_requests_total" in r.get_data(as_text=True)
    finally:
        app.config["METRICS_TOKEN"] = ""
