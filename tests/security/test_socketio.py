"""Socket.IO over a real websocket against the live server: a page of another origin (another port of
the same host) using a signed-in user's cookie is refused; `process:` rooms only for those who may
see the Process."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import socketio

from tests.api.conftest import publish, stage
from tests.security.conftest import login, session_cookie

RESTRICTED = {"visibility": {"internal": {"teams": ["Referral"], "roles": []}, "external": "none"}}


@pytest.fixture
def signed_in(app, world):
    """The Intake staff member's session cookie, from a real sign-in."""
    client = app.test_client()
    assert login(client, world.people.staff.email).status_code == 302
    return session_cookie(client)


def connect(live_server: str, cookie: str | None, **ws_options) -> socketio.Client:
    sio = socketio.Client(reconnection=False, websocket_extra_options=ws_options)
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    sio.connect(live_server, headers=headers, transports=["websocket"], wait_timeout=10)
    return sio


def test_another_origin_with_the_users_cookie_is_refused(live_server, signed_in):
    port = urlsplit(live_server).port
    evil = (f"http://127.0.0.1:{port + 1}", f"http://localhost:{port}", "https://evil.example", "null")
    with ThreadPoolExecutor(len(evil)) as pool:   # each refusal waits ~3 s for the client to close
        outcomes = list(pool.map(lambda origin: _refused(live_server, signed_in, origin), evil))
    assert outcomes == [True] * len(evil)
    ok = connect(live_server, signed_in, origin=live_server)    # the app's own pages
    assert ok.connected
    ok.disconnect()
    plain = connect(live_server, signed_in, suppress_origin=True)  # not a browser: no ambient cookie to abuse
    assert plain.connected
    plain.disconnect()


def _refused(live_server: str, cookie: str, origin: str) -> bool:
    try:
        connect(live_server, cookie, origin=origin).disconnect()
    except socketio.exceptions.ConnectionError:
        return True
    return False


def test_anonymous_sockets_are_still_refused(live_server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(live_server, None, origin=live_server)


def test_process_rooms_follow_what_the_user_may_see(app, live_server, world, signed_in):
    from app.extensions import db
    from app.models import Process
    from app.infra.realtime import emit_many

    assert publish(world.api.admin, "intake", {"stages": [stage("collect")], "routes": []}).status_code == 201
    assert publish(world.api.admin, "referral",
                   {"stages": [stage("assess", **RESTRICTED)], "routes": []}).status_code == 201
    ids = {p.key: p.id for p in db.session.query(Process)}
    sio = connect(live_server, signed_in, origin=live_server)
    got = threading.Event()
    sio.on("task.changed", lambda data: got.set() if data.get("process") == ids["intake"] else None)
    try:
        assert sio.call("join", {"room": f"process:{ids['referral']}"}, timeout=10) == {"ok": False,
                                                                                       "error": "forbidden"}
        assert sio.call("join", {"room": f"process:{ids['intake']}"}, timeout=10) == {"ok": True}
        for room in ("process:999999", "process:²", "process:" + "9" * 30, "task:x"):
            assert sio.call("join", {"room": room}, timeout=10)["ok"] is False
        emit_many([("task.changed", {"task": 1, "process": ids["intake"], "status": "running"},
                    f"process:{ids['intake']}")])
        assert got.wait(10)
    finally:
        sio.disconnect()


def test_admins_and_the_stage_team_may_join_the_restricted_process(app, live_server, world, make_user):
    from app.extensions import db
    from app.models import Process

    assert publish(world.api.admin, "referral",
                   {"stages": [stage("assess", **RESTRICTED)], "routes": []}).status_code == 201
    referral = db.session.query(Process).filter_by(key="referral").one().id
    for user in (world.people.admin, make_user("staff", teams=("Referral",))):
        client = app.test_client()
        assert login(client, user.email).status_code == 302
        sio = connect(live_server, session_cookie(client), origin=live_server)
        try:
            assert sio.call("join", {"room": f"process:{referral}"}, timeout=10) == {"ok": True}
        finally:
            sio.disconnect()


def test_origins_compare_as_browsers_send_them(app, monkeypatch):
    from app.realtime import origin_allowed

    monkeypatch.setitem(app.config, "PROCLY_BASE_URL", "https://Procly.example:443/app")
    assert origin_allowed("https://procly.example") and origin_allowed(None)
    for evil in ("http://procly.example", "https://procly.example:8443", "https://procly.example.evil.test", "null"):
        assert not origin_allowed(evil), evil
