"""The secrets store through the API and the page: write-only values, encrypted at rest, Team-owned,
designers and admins only, every bad input a 4xx naming the field, rotation of the key."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.infra import secretbox

VALUE = "sk-live-7d1f0c9b2e4a4c1b"


@pytest.fixture
def people(make_user, api_as):
    return {
        "admin": api_as(make_user("admin", teams=("Ops",))),
        "designer": api_as(make_user("designer", teams=("Ops",))),
        "staff": api_as(make_user("staff", teams=("Ops",))),
        "outsider": api_as(make_user("designer", teams=("Sales",))),
    }


def create(api, **extra):
    return api.post("/api/v1/secrets", json={"team": "Ops", "name": "CRM_KEY", "value": VALUE, **extra})


def test_create_list_replace_delete_never_return_the_value(app, people):
    from app.models import Event, Secret

    api = people["designer"]
    made = create(api, description="the CRM")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["name"] == "CRM_KEY" and body["team"] == "Ops" and "value" not in body and "ciphertext" not in body
    listed = api.get("/api/v1/secrets").get_json()
    assert [s["name"] for s in listed] == ["CRM_KEY"]
    one = api.get(f"/api/v1/secrets/{body['id']}")
    replaced = api.put(f"/api/v1/secrets/{body['id']}", json={"value": "a-new-value-123"})
    assert replaced.status_code == 200
    for response in (made, one, replaced, api.get("/api/v1/secrets")):
        assert VALUE not in response.get_data(as_text=True) and "a-new-value" not in response.get_data(as_text=True)
    row = app.extensions["sqlalchemy"].session.scalar(select(Secret))
    assert VALUE not in row.ciphertext and "a-new-value" not in row.ciphertext      # encrypted at rest
    assert secretbox.decrypt(row.ciphertext) == "a-new-value-123"
    assert api.delete(f"/api/v1/secrets/{body['id']}").status_code == 204
    assert api.get("/api/v1/secrets").get_json() == []
    events = app.extensions["sqlalchemy"].session.scalars(select(Event).where(Event.type.like("secret.%"))
                                                          .order_by(Event.id)).all()
    assert [e.type for e in events] == ["secret.created", "secret.replaced", "secret.deleted"]
    assert all(VALUE not in json.dumps(e.data) for e in events)


def test_who_may_manage_a_teams_secrets(people):
    made = create(people["admin"]).get_json()
    assert create(people["staff"], name="OTHER").status_code == 403
    assert people["staff"].get(f"/api/v1/secrets/{made['id']}").status_code == 403
    assert people["staff"].get("/api/v1/secrets").get_json() == []
    # another Team's designer does not even learn it exists
    assert people["outsider"].get(f"/api/v1/secrets/{made['id']}").status_code == 404
    assert people["outsider"].put(f"/api/v1/secrets/{made['id']}", json={"value": "hijack-1234"}).status_code == 404
    assert people["outsider"].delete(f"/api/v1/secrets/{made['id']}").status_code == 404
    assert create(people["outsider"], name="MINE").status_code == 404
    assert people["outsider"].get("/api/v1/secrets").get_json() == []
    assert [s["name"] for s in people["designer"].get("/api/v1/secrets").get_json()] == ["CRM_KEY"]


@pytest.mark.parametrize("payload, field, status", [
    ({"name": "1bad"}, "name", 422), ({"name": "has space"}, "name", 422), ({"value": "abc"}, "value", 422),
    ({"value": "x" * 9000}, "value", 422), ({"team": "Nope"}, "team", 404), ({"value": None}, "value", 422),
    ({"description": "d" * 300}, "description", 422), ({"extra": 1}, "extra", 422),
])
def test_bad_input_names_the_field(people, payload, field, status):
    body = {"team": "Ops", "name": "CRM_KEY", "value": VALUE, **payload}
    answer = people["designer"].post("/api/v1/secrets", json=body)
    assert answer.status_code == status, answer.get_json()
    assert field in json.dumps(answer.get_json()["error"]["details"])
    assert people["designer"].get("/api/v1/secrets").get_json() == []


def test_a_name_is_unique_per_team(people):
    assert create(people["designer"]).status_code == 201
    again = create(people["designer"])
    assert again.status_code == 409 and "name" in again.get_json()["error"]["details"]


def test_rotating_the_key_re_encrypts_every_secret(app, people):
    from app.models import Secret

    create(people["designer"])
    db = app.extensions["sqlalchemy"]
    before = db.session.scalar(select(Secret)).ciphertext
    new_key = secretbox.new_key()
    result = app.test_cli_runner().invoke(args=["procly", "rotate-secrets-key", "--new-key", new_key])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 secret" in result.output
    db.session.expire_all()
    after = db.session.scalar(select(Secret)).ciphertext
    assert after != before and VALUE not in result.output
    assert secretbox.decrypt(after, keys=new_key) == VALUE
    with pytest.raises(secretbox.InvalidToken):
        secretbox.decrypt(after, keys=app.config["SECRETS_KEY"])    # the old key no longer reads it
    bad = app.test_cli_runner().invoke(args=["procly", "rotate-secrets-key", "--new-key", "not-a-key"])
    assert bad.exit_code != 0 and "not a Fernet key" in bad.output


def test_the_page_saves_and_never_shows_a_value(app, make_user):
    from tests.helpers import signed_in

    user = make_user("designer", teams=("Ops",))
    client = signed_in(app, user.email, "pw-secret-1")
    page = client.get("/account/secrets")
    assert page.status_code == 200 and "New secret" in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    saved = client.post("/account/secrets", data={"csrf_token": token, "team": "Ops", "name": "CRM_KEY",
                                                  "value": VALUE, "description": "crm"}, follow_redirects=True)
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "CRM_KEY" in text and VALUE not in text
    bad = client.post("/account/secrets", data={"csrf_token": token, "team": "Ops", "name": "CRM_KEY", "value": "xy"})
    assert bad.status_code == 422 and "value" in bad.get_data(as_text=True)
