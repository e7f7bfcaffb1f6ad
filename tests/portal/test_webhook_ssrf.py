"""SSRF: alert webhooks never call loopback, private, link-local or other non-public addresses unless
the install allows it (WEBHOOK_ALLOW_PRIVATE). Refused when the rule is saved (literal addresses,
local names) and again when the delivery resolves the name (any name, e.g. one pointing at 127.0.0.1)."""
import json
import socket

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Event
from app.models.notifications import AlertRule, Outbox
from app.infra import egress
from app.notifications import jobs
from tests.portal.test_webhook_outbox import Hook


@pytest.fixture
def public_only(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def designer_api(api_as, users):
    return api_as(users["designer"])


INTERNAL = ["http://127.0.0.1:8080/x", "http://127.1/x", "http://0x7f.0.0.1/", "http://2130706433/", "http://[::1]/x", "http://[::ffff:127.0.0.1]/x",
            "http://10.0.0.5/hook", "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/",
            "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:6379/", "http://[fe80::1]/",
            "http://[fd00::1]/", "http://224.0.0.1/", "http://localhost:5000/", "http://LOCALHOST./",
            "http://api.localhost/", "https://[::]/"]


@pytest.mark.parametrize("url", INTERNAL)
def test_rule_with_an_internal_target_is_refused(public_only, designer_api, url):
    r = designer_api.post("/api/v1/alerts/rules", json={
        "process": "intake", "event_type": "stage.failed", "severity": "critical", "channel": "webhook",
        "target": [url]})
    assert r.status_code == 422, r.json
    assert "target" in r.json["error"]["details"]
    assert "allowed" in json.dumps(r.json["error"]["details"])
    assert db.session.scalar(select(AlertRule)) is None


def test_public_targets_are_accepted(public_only, designer_api):
    r = designer_api.post("/api/v1/alerts/rules", json={
        "process": "intake", "event_type": "stage.failed", "severity": "critical", "channel": "webhook",
        "target": ["https://hooks.example.com/procly", "http://8.8.8.8/x", "https://[2001:4860:4860::8888]/"]})
    assert r.status_code == 201, r.json


def _queued(url: str) -> Outbox:
    row = Outbox(to=url, subject="sla.breached", body=json.dumps({"task": None, "type": "sla.breached"}),
                 kind="webhook", status="pending", attempts=0, next_attempt_at=clock.now(), created_at=clock.now())
    db.session.add(row)
    db.session.commit()
    return row


def test_delivery_resolves_and_refuses_a_name_pointing_inside(app, public_only, hook):
    # the machine's own name passes the save-time check (it is a name, not a literal address) but
    # resolves to a non-public address here: the delivery resolves it for real and refuses it
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if any(egress.is_public(a) for a in addresses):
        pytest.skip("this machine's name resolves to a public address")
    assert egress.literal_problem(name) is None
    port = hook.url.rsplit(":", 1)[1]
    _queued(f"http://{name}:{port}/inside")
    assert jobs.deliver_due() == {"sent": 0, "failed": 1}
    assert hook.received == []
    ev = db.session.scalar(select(Event).where(Event.type == "alert.webhook"))
    assert ev.data["status"] is None and "non-public address" in ev.data["error"]
    row = db.session.scalar(select(Outbox))
    assert row.status == "pending" and row.attempts == 1     # retried later, like any failed delivery


def test_resolution_check_refuses_any_internal_address(app, public_only):
    for host in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):
        with pytest.raises(egress.BlockedDestination):
            egress.resolve(host, 80)
    assert egress.is_public("8.8.8.8") and egress.is_public("2001:4860:4860::8888")
    for address in ("::ffff:10.0.0.1", "169.254.169.254", "fe80::1%eth0", "255.255.255.255"):
        assert not egress.is_public(address)


def test_allowed_private_install_delivers_to_a_local_name(app, hook):
    # with WEBHOOK_ALLOW_PRIVATE (tests, private-network installs) the name is resolved and the
    # connection goes to the resolved addresses (the Hook listens on 127.0.0.1 only)
    port = hook.url.rsplit(":", 1)[1]
    _queued(f"http://localhost:{port}/ok?x=1")
    assert jobs.deliver_due() == {"sent": 1, "failed": 0}
    assert hook.received[0][0] == "/ok?x=1"
