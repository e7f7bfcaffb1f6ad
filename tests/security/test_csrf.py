"""A forged cross-site request with the victim's session cookie and a made-up bearer header must
not skip CSRF; a real bearer token authenticates the call alone, the cookie ignored."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken
from tests.helpers import csrf
from tests.security.conftest import login


def _count_tokens() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(ApiToken)).all())


def test_a_bogus_bearer_header_does_not_skip_csrf(client, staff):
    login(client, staff.email)
    before = _count_tokens()
    for header in ("Bearer junk", "Bearer ", "bearer prc_made_up", "Bearer prc_" + "x" * 43):
        r = client.post("/api/v1/tokens", json={"name": "forged"}, headers={"Authorization": header})
        assert r.status_code == 400, header
        assert r.json["error"]["code"] == "csrf_failed"
    r = client.delete("/api/v1/tokens/1", headers={"Authorization": "Bearer junk"})
    assert r.status_code == 400
    assert _count_tokens() == before
    # the same call with the page's CSRF token is the user's own, and works
    r = client.post("/api/v1/tokens", json={"name": "mine"},
                    headers={"Authorization": "Bearer junk", "X-CSRFToken": csrf(client)})
    assert r.status_code == 201


def test_a_revoked_token_with_a_cookie_is_a_cookie_request(client, staff, api_as):
    from app.auth.tokens import revoke_token

    api = api_as(staff)
    secret = api.headers["Authorization"]
    revoke_token(db.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id)), None)
    db.session.commit()
    login(client, staff.email)
    r = client.post("/api/v1/tokens", json={"name": "forged"}, headers={"Authorization": secret})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf_failed"


def test_a_valid_bearer_token_ignores_the_cookie_session(client, make_user, api_as):
    """Signed in as an admin in the browser, calling with a staff member's token: the call is the
    staff member's (no admin powers leak in from the cookie), and it needs no CSRF token."""
    admin, staff = make_user("admin"), make_user("staff")
    login(client, admin.email)
    assert client.get("/api/v1/admin/tokens").status_code == 200            # the admin's cookie alone
    token = api_as(staff).headers
    r = client.get("/api/v1/admin/tokens", headers=token)
    assert r.status_code == 403                                                # the token's user: staff
    r = client.post("/api/v1/tokens", json={"name": "via token"}, headers=token)
    assert r.status_code == 201
    created = db.session.get(ApiToken, r.json["id"])
    assert created.user_id == staff.id and created.parent_id is not None
