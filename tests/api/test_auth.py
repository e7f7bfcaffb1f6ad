"""Sign-in with CSRF, rate limiting, safe redirects, bearer tokens and CSRF on cookie API calls."""
import re

import pytest

PASSWORD = "pw-secret-1"


def csrf_from(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email, password=PASSWORD, next_=None, token=True):
    data = {"email": email, "password": password}
    if token:
        data["csrf_token"] = csrf_from(client)
    return client.post("/login" + (f"?next={next_}" if next_ else ""), data=data)


@pytest.fixture
def staff(make_user):
    return make_user("staff", teams=("Intake",))


def test_login_form_with_csrf_signs_in(client, staff):
    r = client.get("/login")
    assert r.status_code == 200 and 'name="csrf_token"' in r.get_data(as_text=True)
    r = login(client, staff.email.upper())
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/queue"     # staff land on their work
    assert client.get("/api/v1/processes").status_code == 200  # the session cookie works on the API


def test_login_without_csrf_token_is_400(client, staff):
    r = login(client, staff.email, token=False)
    assert r.status_code == 400
    assert client.get("/api/v1/processes").status_code == 401


def test_wrong_password_is_a_401_page(client, staff):
    r = login(client, staff.email, password="nope")
    assert r.status_code == 401
    assert "Unknown email or wrong password" in r.get_data(as_text=True)
    assert client.get("/api/v1/processes").status_code == 401


def test_many_failed_attempts_are_rate_limited(client, staff):
    statuses = [login(client, staff.email, password=f"guess{i}").status_code for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
    assert login(client, staff.email).status_code == 429  # even the right password, for now


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com/x", "/\\evil.com", "\\/evil.com",
                                    "/%5Cevil.com", "javascript:alert(1)"])
def test_next_never_redirects_off_site(client, staff, target):
    r = login(client, staff.email, next_=target)
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]


def test_next_keeps_a_same_site_path(client, staff):
    r = login(client, staff.email, next_="/api/v1/tables")
    assert r.headers["Location"] == "/api/v1/tables"


def test_bearer_token_works_until_revoked(client, staff, api_as):
    api = api_as(staff)
    r = api.post("/api/v1/tokens", json={"name": "ci"})
    assert r.status_code == 201 and r.json["secret"].startswith("prc_")
    token_id, secret = r.json["id"], r.json["secret"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tokens", headers=headers).status_code == 200
    assert "secret" not in client.get("/api/v1/tokens", headers=headers).json[0]
    assert api.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    r = client.get("/api/v1/tokens", headers=headers)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/tokens", headers={"Authorization": "Bearer prc_made_up"}).status_code == 401


def test_tokens_of_others_cannot_be_revoked(staff, make_user, api_as):
    mine = api_as(staff).post("/api/v1/tokens", json={"name": "mine"}).json["id"]
    assert api_as(make_user("staff")).delete(f"/api/v1/tokens/{mine}").status_code == 404


def test_cookie_authenticated_api_calls_need_csrf(client, staff):
    login(client, staff.email)
    r = client.post("/api/v1/tokens", json={"name": "x"})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "csrf_failed" and set(r.json["error"]) == {"code", "message", "details"}
    r = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRFToken": csrf_from(client, "/login")})
    assert r.status_code == 201
