"""API tokens: scopes enforced on every call, optional expiry, a child token dies with its parent, a
token never creates a token with more scope; the signed-in page lists and revokes them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app import clock
from tests.helpers import csrf
from tests.security.conftest import login


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def mint(app, client):
    """mint(user, scope="write", **kw) -> secret of a token issued directly."""
    from app.auth.tokens import issue_token
    from app.extensions import db

    def make(user, scope="write", **kw):
        _, secret = issue_token(user, f"{scope} token", scope=scope, **kw)
        db.session.commit()
        return secret

    return make


def test_a_read_token_may_look_but_not_change(client, world, mint):
    secret = mint(world.people.designer, "read")
    assert client.get("/api/v1/processes", headers=bearer(secret)).status_code == 200
    assert client.head("/api/v1/processes", headers=bearer(secret)).status_code == 200
    r = client.post("/api/v1/processes", json={"key": "sneaky", "name": "Sneaky", "table": "leads",
                                                "team": "Intake"}, headers=bearer(secret))
    assert r.status_code == 403
    assert r.json["error"]["code"] == "insufficient_scope"
    assert "read scope" in r.json["error"]["message"] and "needs the write scope" in r.json["error"]["message"]
    assert r.json["error"]["details"] == {"scope": "read", "required": "write"}
    assert client.get("/api/v1/processes/sneaky", headers=bearer(secret)).status_code == 404   # nothing created
    # with write scope the same call goes through
    ok = client.post("/api/v1/processes", json={"key": "sneaky", "name": "Sneaky", "table": "leads",
                                                 "team": "Intake"}, headers=bearer(mint(world.people.designer)))
    assert ok.status_code == 201


def test_admin_operations_need_the_admin_scope(client, world, mint):
    victim = mint(world.people.staff)
    write = mint(world.people.admin, "write")
    r = client.get("/api/v1/admin/tokens", headers=bearer(write))
    assert r.status_code == 403 and r.json["error"]["details"]["required"] == "admin"
    admin = mint(world.people.admin, "admin")
    listed = client.get("/api/v1/admin/tokens", headers=bearer(admin)).json
    victim_id = next(t["id"] for t in listed if t["user_id"] == world.people.staff.id and t["name"] == "write token")
    assert client.delete(f"/api/v1/admin/tokens/{victim_id}", headers=bearer(write)).status_code == 403
    assert client.get("/api/v1/processes", headers=bearer(victim)).status_code == 200
    assert client.delete(f"/api/v1/admin/tokens/{victim_id}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/v1/processes", headers=bearer(victim)).status_code == 401
    # admin-only means admins: a staff member's token never reaches it, whatever its scope
    assert client.get("/api/v1/admin/tokens", headers=bearer(mint(world.people.staff))).status_code == 403


def test_only_admins_get_admin_tokens(client, world, mint):
    r = client.post("/api/v1/tokens", json={"name": "x", "scope": "admin"}, headers=bearer(mint(world.people.staff)))
    assert r.status_code == 403


def test_a_token_cannot_mint_more_scope_than_it_has(client, world, mint):
    read = mint(world.people.designer, "read")
    r = client.post("/api/v1/tokens", json={"name": "escalate", "scope": "write"}, headers=bearer(read))
    assert r.status_code == 403   # minting is itself a change: a read token may not mint at all
    write = mint(world.people.admin, "write")
    r = client.post("/api/v1/tokens", json={"name": "escalate", "scope": "admin"}, headers=bearer(write))
    assert r.status_code == 403 and r.json["error"]["code"] == "insufficient_scope"
    r = client.post("/api/v1/tokens", json={"name": "child", "scope": "read"}, headers=bearer(write))
    assert r.status_code == 201 and r.json["scope"] == "read"


def test_a_child_token_dies_with_its_parent(client, world, mint):
    parent = mint(world.people.designer)
    r = client.post("/api/v1/tokens", json={"name": "child", "scope": "write"}, headers=bearer(parent))
    assert r.status_code == 201
    child_id, child = r.json["id"], r.json["secret"]
    r = client.post("/api/v1/tokens", json={"name": "grandchild"}, headers=bearer(child))
    grandchild = r.json["secret"]
    assert client.get("/api/v1/tokens", headers=bearer(grandchild)).status_code == 200
    tokens = {t["id"]: t for t in client.get("/api/v1/tokens", headers=bearer(parent)).json}
    parent_id = tokens[child_id]["parent_id"]
    assert tokens[parent_id]["parent_id"] is None

    assert client.delete(f"/api/v1/tokens/{parent_id}", headers=bearer(child)).status_code == 204
    for secret in (parent, child, grandchild):   # checked at use: nobody had to revoke the children
        r = client.get("/api/v1/processes", headers=bearer(secret))
        assert r.status_code == 401
    from app.extensions import db
    from app.models import ApiToken

    assert db.session.get(ApiToken, child_id).revoked_at is None
    assert db.session.get(ApiToken, child_id).why_inactive == "the token that created it was revoked"


def test_tokens_expire_and_children_never_outlive_their_parent(client, world, mint, monkeypatch):
    soon = clock.now() + timedelta(hours=1)
    parent = mint(world.people.designer, expires_at=soon)
    later = (clock.now() + timedelta(days=30)).isoformat() + "Z"
    r = client.post("/api/v1/tokens", json={"name": "child", "expires_at": later}, headers=bearer(parent))
    assert r.status_code == 201
    child = r.json["secret"]
    assert r.json["expires_at"].startswith(soon.isoformat()[:16])   # capped at the parent's expiry
    assert client.get("/api/v1/processes", headers=bearer(child)).status_code == 200
    real_now = clock.now()
    monkeypatch.setattr(clock, "_now", lambda: real_now + timedelta(hours=2))
    assert client.get("/api/v1/processes", headers=bearer(parent)).status_code == 401
    assert client.get("/api/v1/processes", headers=bearer(child)).status_code == 401
    r = client.post("/api/v1/tokens", json={"name": "past", "expires_at": "2020-01-01T00:00:00Z"},
                    headers=bearer(mint(world.people.designer)))
    assert r.status_code == 422


def test_tokens_reach_the_api_only(client, world, mint):
    """A token is for integrations: pages ignore it (a read token must not post forms there)."""
    secret = mint(world.people.staff, "read")
    r = client.get("/queue", headers=bearer(secret))
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_tokens_page_lists_creates_and_revokes(app, client, staff):
    login(client, staff.email)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "API tokens" in page and "No tokens yet" in page and 'value="admin"' not in page
    r = client.post("/account/tokens", data={"csrf_token": csrf(client), "name": "CRM sync", "scope": "read",
                                             "expires": "30"})
    assert r.status_code == 201
    secret = re.search(r'id="new-secret"[^>]*>(prc_[\w-]+)<', r.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/processes", headers=bearer(secret)).status_code == 200
    assert "CRM sync" in client.get("/account/tokens").get_data(as_text=True)
    assert secret not in client.get("/account/tokens").get_data(as_text=True)   # shown once
    token_id = re.search(r'data-token="(\d+)"', client.get("/account/tokens").get_data(as_text=True)).group(1)
    r = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf(client)})
    assert r.status_code == 302
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    api = app.test_client()
    assert api.get("/api/v1/processes", headers=bearer(secret)).status_code == 401


def test_the_tokens_page_refuses_admin_scope_to_staff_and_others_tokens(app, client, staff, make_user, mint):
    login(client, staff.email)
    r = client.post("/account/tokens", data={"csrf_token": csrf(client), "name": "x", "scope": "admin"})
    assert r.status_code == 422 and "Only admins" in r.get_data(as_text=True)
    other = make_user("staff")
    secret = mint(other)
    from app.models import ApiToken
    from app.extensions import db
    from sqlalchemy import select

    other_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == other.id))
    client.post(f"/account/tokens/{other_id}/revoke", data={"csrf_token": csrf(client)})
    assert app.test_client().get("/api/v1/processes", headers=bearer(secret)).status_code == 200
