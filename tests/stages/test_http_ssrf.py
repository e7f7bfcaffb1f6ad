"""SSRF attacks on the Webhook and External Service stage types: loopback, the cloud metadata address,
private ranges, DNS rebinding, redirects, hosts off the Stage's allow-list — refused when the Stage is
saved (literal addresses) and again at every call by the egress door (names resolve to internal
addresses, answers that change between lookups, a definition whose allow-list does not cover the URL).
Runs through a real RQ worker; the other system is a real HTTP server on 127.0.0.1 that must receive
nothing. DNS answers come from a resolver seam (app.extensions[egress.RESOLVER]): this machine has no
DNS server a test could make lie."""
from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from app.infra import egress
from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker
from tests.stages.partner import Answer, Partner


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


@pytest.fixture
def partner():
    p = Partner()
    yield p
    p.close()


@pytest.fixture
def public_only(app, monkeypatch):
    """The install's default: no private, loopback or link-local address (tests turn it on elsewhere)."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)


@pytest.fixture
def dns(app):
    """Names answered from `answers` (name -> list of address lists, one per lookup, the last repeats);
    every lookup is recorded in `calls`."""
    answers: dict[str, list[list[str]]] = {}
    calls: list[str] = []

    def resolver(host, port, type=0, **kw):
        calls.append(host)
        if host not in answers:
            return socket.getaddrinfo(host, port, type=type)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]

    app.extensions[egress.RESOLVER] = resolver
    yield SimpleNamespace(answers=answers, calls=calls)
    app.extensions.pop(egress.RESOLVER, None)


def webhook(url: str, allowed: list[str], **config) -> dict:
    return st("call", "webhook", reads=["name"], writes=["note"],
              config={"url": url, "allowed_hosts": allowed, "results": {"note": "string(status)"},
                      "timeout_seconds": 1, "retries": 0, **config})


def external(url: str, allowed: list[str], **config) -> dict:
    return st("call", "external_service", reads=["name"], writes=["note"],
              config={"url": url, "allowed_hosts": allowed, "timeout_seconds": 1, "retries": 0, **config})


INTERNAL = ["http://127.0.0.1:8080/x", "http://127.1/x", "http://0x7f.0.0.1/", "http://2130706433/", "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x", "http://10.0.0.5/hook", "http://192.168.1.1/", "http://172.16.0.1/",
            "http://100.64.0.1/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:6379/",
            "http://[fe80::1]/", "http://[fd00::1]/", "http://localhost:5000/", "http://api.localhost/"]


@pytest.mark.parametrize("make", [webhook, external])
@pytest.mark.parametrize("url", INTERNAL)
def test_a_literal_internal_address_is_refused_when_saved(world, public_only, make, url):
    designer = world.api_as(world.admin)
    world.process("v", [st("plain")])
    draft = designer.get("/api/v1/processes/v/draft").get_json()
    host = url.split("/")[2]
    saved = designer.put("/api/v1/processes/v/draft", json={
        "definition": {"stages": [make(url, [host, "example.com"])], "routes": []}, "revision": draft["revision"]})
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert "not allowed" in errors.get("stages[0].config.url", ""), errors


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.0.10", "::1",
                                     "::ffff:127.0.0.1", "fd12::1", "0.0.0.0"])
@pytest.mark.parametrize("make", [webhook, external])
def test_a_name_that_resolves_inside_is_refused_at_the_call(world, public_only, dns, partner, make, address):
    name = "partner.example.com"
    dns.answers[name] = [[address]]
    world.process("p", [make(f"http://{name}:{partner.port}/hook", [f"{name}:{partner.port}"])])
    tid = world.start("p", {"name": "x"})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed"
    assert f"{name} resolves to a non-public address ({address})" in run.error
    assert partner.received == [] and dns.calls == [name]


def test_one_internal_address_among_public_ones_is_refused(world, public_only, dns, partner):
    dns.answers["mixed.example.com"] = [["93.184.216.34", "127.0.0.1"]]
    world.process("p", [webhook(f"http://mixed.example.com:{partner.port}/", [f"mixed.example.com:{partner.port}"])])
    tid = world.start("p", {})
    world.drain()
    assert "resolves to a non-public address (127.0.0.1)" in world.run(tid, "call").error
    assert partner.received == []


def test_dns_rebinding_cannot_reach_an_internal_address(world, public_only, dns, partner):
    """The name answers a public address when checked, then loopback: the connection goes to the
    address that was checked (unreachable here), never to a second answer; the next try resolves
    again and is refused. The server on loopback receives nothing."""
    name = "rebind.example.com"
    dns.answers[name] = [["93.184.216.34"], ["127.0.0.1"]]
    world.process("p", [webhook(f"http://{name}:{partner.port}/", [f"{name}:{partner.port}"], retries=1)])
    tid = world.start("p", {})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed" and partner.received == []
    assert dns.calls == [name, name]           # one lookup per try, none between check and connect
    first, second = run.data["log"]
    assert "no answer" in first or "timed out" in first
    assert "resolves to a non-public address (127.0.0.1)" in second


def test_the_connection_is_pinned_to_the_checked_answer(world, dns, partner):
    """With private addresses allowed (the partner is on loopback): the lookup answers 127.0.0.1, any
    later lookup an unroutable address; the call reaches the partner, so it used the first answer,
    and it named the host in the Host header."""
    name = "pinned.example.com"
    dns.answers[name] = [["127.0.0.1"], ["10.255.255.1"]]
    world.process("p", [webhook(f"http://{name}:{partner.port}/", [f"{name}:{partner.port}"])])
    tid = world.start("p", {})
    world.drain()
    assert world.run(tid, "call").status == "completed", world.run(tid, "call").error
    assert dns.calls == [name] and partner.received[0].headers["Host"] == f"{name}:{partner.port}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed(world, partner, status):
    partner.plan = [Answer(status, {}, headers={"Location": "http://169.254.169.254/latest/meta-data/iam"})]
    world.process("p", [webhook(partner.url + "/start", [partner.host], retries=3)])
    tid = world.start("p", {})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed" and len(partner.received) == 1
    assert f"answered {status} (a redirect to http://169.254.169.254/latest/meta-data/iam); redirects are not followed" \
        in run.error


def test_a_host_off_the_allow_list_is_refused_at_the_call(world, partner):
    """A definition whose allow-list does not cover its URL (one saved before a rule, or written
    around the builder) still cannot call out: the egress door checks the list at every call."""
    from app.extensions import db
    from app.models import Version
    from app.runtime.context import definition

    version = world.process("p", [webhook(partner.url + "/x", [partner.host])])
    doc = version.definition
    doc["stages"][0]["config"]["allowed_hosts"] = ["api.example.com"]
    db.session.execute(update(Version).where(Version.id == version.id).values(definition=doc))
    db.session.commit()
    definition.cache_clear()
    tid = world.start("p", {})
    world.drain()
    run = world.run(tid, "call")
    assert run.status == "failed" and partner.received == []
    assert f"127.0.0.1:{partner.port} is not on this Stage's list of allowed hosts" in run.error


def test_the_allow_list_rules():
    ok = egress.host_allowed
    assert ok("api.example.com", 443, ["api.example.com"], "https")
    assert not ok("api.example.com", 8443, ["api.example.com"], "https")      # a bare host: the default port
    assert ok("api.example.com", 8443, ["API.example.com.:8443"], "https")
    assert not ok("api.example.com.evil.test", 443, ["api.example.com"], "https")
    assert ok("eu.api.example.com", 443, ["*.example.com"], "https")
    assert not ok("example.com", 443, ["*.example.com"], "https")              # a wildcard: subdomains only
    assert not ok("badexample.com", 443, ["*.example.com"], "https")
    assert ok("::1", 8080, ["[::1]:8080"], "http")
    for bad in ("http://x.com", "x.com/path", "user@x.com", "*", "a.*.com", "*.com", "x.com:99999", ""):
        assert egress.allow_list_problem(bad), bad


def test_the_door_refuses_before_connecting(app, partner):
    with pytest.raises(egress.NotAllowedHost):
        egress.request("GET", partner.url + "/x", timeout=1, allowed_hosts=[f"127.0.0.1:{partner.port + 1}"])
    with pytest.raises(egress.BlockedDestination, match="no credentials"):
        egress.request("GET", f"http://user:pw@{partner.host}/", timeout=1, allowed_hosts=[partner.host])
    assert partner.received == []
    assert egress.request("GET", partner.url + "/x", timeout=5, allowed_hosts=[partner.host]).status == 200


def test_without_the_admins_allowance_a_worker_process_refuses_loopback(world, partner):
    """The Stages were saved while private addresses were allowed; the worker runs with the install's
    default (PROCLY_WEBHOOK_ALLOW_PRIVATE unset): every call to the loopback partner is refused."""
    world.process("w", [webhook(partner.url + "/w", [partner.host])])
    world.process("e", [external(partner.url + "/e", [partner.host])])
    ids = [world.start("w", {}), world.start("e", {})]
    proc = _flask_worker(world.app, env={"PROCLY_WEBHOOK_ALLOW_PRIVATE": "0"})
    try:
        def failed():
            world.db.session.remove()
            return all(world.run(t, "call").status == "failed" for t in ids)
        wait_until(failed, 90, "both calls refused", diagnose=proc.log)
    finally:
        proc.stop()
    for tid in ids:
        assert "127.0.0.1: private, loopback and link-local addresses are not allowed" in world.run(tid, "call").error
    assert partner.received == []
