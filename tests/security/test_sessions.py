"""Sessions end on the server: a session cookie copied before sign-out or a password change stops
working. With an https base URL the session cookie is Secure and HSTS is sent."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import csrf
from tests.security.conftest import PASSWORD, login, session_cookie

NEW_PASSWORD = "a long and unusual passphrase"


def test_a_cookie_copied_before_logout_is_dead_after_it(app, client, staff):
    assert login(client, staff.email).status_code == 302
    stolen = session_cookie(client)
    assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/processes").status_code == 401
    r = thief.get("/queue")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_changing_the_password_ends_every_other_session(app, client, staff):
    laptop, phone = client, app.test_client()
    assert login(laptop, staff.email).status_code == 302
    assert login(phone, staff.email).status_code == 302
    stolen = session_cookie(phone)

    r = laptop.post("/account/password", data={"csrf_token": csrf(laptop), "current": PASSWORD,
                                               "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    assert laptop.get("/api/v1/processes").status_code == 200       # this browser stays signed in
    assert phone.get("/api/v1/processes").status_code == 401        # every other session ended
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/processes").status_code == 401
    fresh = app.test_client()
    assert login(fresh, staff.email).status_code == 401
    assert login(fresh, staff.email, NEW_PASSWORD).status_code == 302


def test_a_weak_new_password_is_refused_and_changes_nothing(client, staff):
    login(client, staff.email)
    for weak, why in (("short-one", "at least 12 characters"), ("password1234", "commonly used")):
        r = client.post("/account/password", data={"csrf_token": csrf(client), "current": PASSWORD,
                                                   "new": weak, "confirm": weak})
        assert r.status_code == 422 and why in r.get_data(as_text=True)
    r = client.post("/account/password", data={"csrf_token": csrf(client), "current": "not my password",
                                               "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 422 and "current password is not right" in r.get_data(as_text=True)
    assert client.get("/api/v1/processes").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert login(client, staff.email).status_code == 302


def test_http_base_url_sends_no_hsts_and_a_plain_cookie(client, staff):
    r = login(client, staff.email)
    assert "Strict-Transport-Security" not in r.headers
    assert "Secure" not in r.headers["Set-Cookie"]


SCRIPT = """
import json, re
from app.factory import create_app
app = create_app()
c, base = app.test_client(), "https://procly.example"
html = c.get("/login", base_url=base).get_data(as_text=True)
token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
r = c.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}, base_url=base,
           headers={"Referer": base + "/login"})
# behind one TLS-terminating proxy (PROCLY_PROXY_COUNT=1): scheme and client address from its headers
p = app.test_client()
fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "procly.example"}
html = p.get("/login", headers=fwd).get_data(as_text=True)
token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
rp = p.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
            headers={**fwd, "Referer": "https://procly.example/login"})
from app.extensions import db
from app.models import Event
with app.app_context():
    ip = db.session.query(Event).filter_by(type="user.login").order_by(Event.id.desc()).first().data["ip"]
print(json.dumps({"status": r.status_code, "hsts": r.headers.get("Strict-Transport-Security"),
                  "cookies": r.headers.getlist("Set-Cookie"), "proxied": rp.status_code,
                  "proxied_hsts": rp.headers.get("Strict-Transport-Security"), "ip": ip}))
"""


def test_https_base_url_turns_on_secure_cookies_and_hsts(app, staff, tmp_path):
    """The real app started with PROCLY_BASE_URL=https://… (and one proxy in front) in its environment,
    as in production."""
    env = {**os.environ, "PROCLY_BASE_URL": "https://procly.example", "PROCLY_PROXY_COUNT": "1",
           "SECRET_KEY": "s" * 32,
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "PROCLY_INSTANCE": str(tmp_path)}
    script = SCRIPT.replace("EMAIL", repr(staff.email)).replace("PASSWORD", repr(PASSWORD))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 302
    assert result["hsts"].startswith("max-age=")
    session = next(c for c in result["cookies"] if c.startswith("session="))
    device = next(c for c in result["cookies"] if c.startswith("procly_device="))
    assert "Secure" in session and "HttpOnly" in session and "Secure" in device
    assert result["proxied"] == 302 and result["proxied_hsts"].startswith("max-age=")
    assert result["ip"] == "203.0.113.9"   # the client behind the proxy: what sign-in throttling counts
