"""/api/v1/users, /api/v1/teams and /api/v1/people: invite (a single-use, expiring set-password
link through the outbox), re-role, Teams, deactivate (sessions and tokens refused right after),
password resets and "forgot password", each with its Event; non-admins and narrow listings."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.auth.tokens import issue_token
from app.extensions import db
from app.models import Event, PasswordLink, StageRun, User
from app.runtime.states import OPEN
from tests.accounts.conftest import link_in_outbox
from tests.helpers import csrf_from


def _events(kind: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.type == kind).order_by(Event.id)))


def _set_password(client, link: str, password: str):
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    if page.status_code != 200:
        return page
    return client.post("/" + path, data={"password": password, "confirm": password,
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})


def _sign_in(client, email, password):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_invite_set_password_once_and_sign_in(app, admin_api, client):
    r = admin_api.post("/api/v1/users", json={"email": "Nina@Example.com", "name": "Nina New", "role": "staff",
                                              "teams": ["Intake"]})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["email"] == "nina@example.com" and body["invited"] is True and body["teams"] == ["Intake"]
    assert "password" not in str(body) and "link" not in body
    assert [e.data for e in _events("user.invited")] == [{"user": body["id"], "role": "staff", "teams": ["Intake"]}]
    assert _sign_in(client, "nina@example.com", "").status_code == 401          # no password yet
    link = link_in_outbox("nina@example.com")
    assert _set_password(client, link, "short").status_code == 422              # the policy applies
    r = _set_password(client, link, "a long enough passphrase")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert _set_password(client, link, "another long passphrase").status_code == 410   # single-use
    assert _sign_in(client, "nina@example.com", "a long enough passphrase").status_code == 302
    assert [e.data["through"] for e in _events("user.password_set")] == ["invite"]
    assert admin_api.get(f"/api/v1/users/{body['id']}").json["invited"] is False


def test_link_expires(app, admin_api, client):
    uid = admin_api.post("/api/v1/users", json={"email": "late@example.com", "name": "Late"}).json["id"]
    link = link_in_outbox("late@example.com")
    row = db.session.scalar(select(PasswordLink).where(PasswordLink.user_id == uid))
    row.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert _set_password(client, link, "a long enough passphrase").status_code == 410


def test_a_new_link_ends_the_older_one(app, admin_api, client):
    uid = admin_api.post("/api/v1/users", json={"email": "twice@example.com", "name": "Twice"}).json["id"]
    first = link_in_outbox("twice@example.com")
    assert admin_api.post(f"/api/v1/users/{uid}/password-reset").status_code == 200
    second = link_in_outbox("twice@example.com")
    assert first != second
    assert _set_password(client, first, "a long enough passphrase").status_code == 410
    assert _set_password(client, second, "a long enough passphrase").status_code == 302


def test_invite_refuses_bad_input_naming_the_field(app, admin_api):
    before = db.session.scalar(select(db.func.count(User.id)))
    for body, field in (({"email": "not-an-email", "name": "X"}, "email"), ({"email": "x@example.com"}, "name"),
                        ({"email": "x@example.com", "name": "X", "role": "king"}, "role"),
                        ({"email": "x@example.com", "name": "X", "teams": ["Nope"]}, "teams"),
                        ({"email": "admin@procly.local", "name": "Again"}, "email")):
        r = admin_api.post("/api/v1/users", json=body)
        assert r.status_code in (409, 422), (body, r.json)
        assert field in str(r.json["error"]["details"]), (body, r.json)
    assert db.session.scalar(select(db.func.count(User.id))) == before
    assert _events("user.invited") == []


def test_deactivate_kills_open_session_and_token_at_once(app, admin_api, users, web_login, client):
    staff = users["staff"]
    web_login("staff@procly.local")
    assert client.get("/queue").status_code == 200
    _, secret = issue_token(staff, "integration", scope="write")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 200
    r = admin_api.post(f"/api/v1/users/{staff.id}/deactivate")
    assert r.status_code == 200 and r.json["active"] is False
    assert client.get("/queue").status_code == 302                       # the open session: signed out
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401   # the token: dead
    assert _sign_in(app.test_client(), "staff@procly.local", "procly-demo-2026").status_code == 401
    assert [e.data for e in _events("user.deactivated")] == [{"user": staff.id, "tokens_revoked": 1, "claims_released": 0}]
    # reactivated: the password works again, the revoked token stays revoked
    assert admin_api.post(f"/api/v1/users/{staff.id}/reactivate").json["active"] is True
    assert _sign_in(app.test_client(), "staff@procly.local", "procly-demo-2026").status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401


def test_deactivate_gives_their_claimed_work_back_to_the_queue(app, admin_api, users, new_task, api_as):
    """A staff member who leaves holds a claimed Stage Run: deactivating them releases it (the
    time worked is kept), the timeline says why, and a colleague can take it."""
    staff = users["staff"]
    task = new_task()
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.status.in_(OPEN)))
    assert api_as(staff).post(f"/api/v1/runs/{run.id}/claim", json={}).status_code == 200
    r = admin_api.post(f"/api/v1/users/{staff.id}/deactivate")
    assert r.status_code == 200
    db.session.expire_all()
    held = db.session.get(StageRun, run.id)
    assert held.claimed_by_id is None and held.status in OPEN
    assert _events("user.deactivated")[0].data == {"user": staff.id, "tokens_revoked": 1, "claims_released": 1}
    released = _events("stage.released")
    assert [e.data.get("reason") for e in released] == ["deactivated"]
    timeline = api_as(users["admin"]).get(f"/api/v1/tasks/{task.id}/events").json
    assert "because the person who had it was deactivated" in str(timeline)
    assert api_as(users["admin"]).post(f"/api/v1/runs/{run.id}/claim", json={}).status_code == 200
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).claimed_by_id == users["admin"].id


def test_role_and_teams_with_events(app, admin_api, users):
    staff = users["staff"]
    r = admin_api.patch(f"/api/v1/users/{staff.id}", json={"role": "manager", "teams": ["Intake", "Compliance"]})
    assert r.status_code == 200, r.json
    assert r.json["role"] == "manager" and r.json["teams"] == ["Compliance", "Intake"]
    assert _events("user.role_changed")[0].data == {"user": staff.id, "before": "staff", "after": "manager"}
    assert _events("user.teams_changed")[0].data["after"] == ["Compliance", "Intake"]
    assert admin_api.patch(f"/api/v1/users/{staff.id}", json={"role": "boss"}).status_code == 422
    assert admin_api.patch(f"/api/v1/users/{staff.id}", json={"teams": ["Nope"]}).status_code == 422
    assert admin_api.patch("/api/v1/users/999999", json={"role": "staff"}).status_code == 404


def test_admins_cannot_lock_themselves_out(app, admin_api, users):
    me = users["admin"]
    r = admin_api.post(f"/api/v1/users/{me.id}/deactivate")
    assert r.status_code == 403 and "another admin" in r.json["error"]["message"]
    assert admin_api.patch(f"/api/v1/users/{me.id}", json={"role": "staff"}).status_code == 403
    db.session.refresh(me)
    assert me.active and me.role == "admin"


def test_non_admins_are_refused_and_change_nothing(app, users, api_as, make_user):
    target = users["staff"]
    for who in ("designer", "manager", "staff"):
        client = api_as(users[who])
        for method, path, body in (("get", "/api/v1/users", None), ("post", "/api/v1/users", {"email": "e@x.com", "name": "E"}),
                                   ("get", f"/api/v1/users/{target.id}", None),
                                   ("patch", f"/api/v1/users/{target.id}", {"role": "admin"}),
                                   ("post", f"/api/v1/users/{target.id}/deactivate", None),
                                   ("post", f"/api/v1/users/{target.id}/password-reset", None),
                                   ("post", "/api/v1/teams", {"name": "Mine"})):
            r = getattr(client, method)(path, json=body)
            assert r.status_code == 403, (who, method, path, r.status_code)
    db.session.refresh(target)
    assert target.active and target.role == "staff"
    assert _events("user.invited") == [] and _events("team.created") == []


def test_an_admins_write_token_may_not_manage_users(app, users, client):
    _, secret = issue_token(users["admin"], "w", scope="write")
    db.session.commit()
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and r.json["error"]["code"] == "insufficient_scope"


def test_people_is_narrow_and_follows_teams(app, users, api_as, make_user):
    outsider = make_user("staff", teams=("Elsewhere",))
    gone = make_user("staff", teams=("Intake",))
    gone.active = False
    db.session.commit()
    listed = api_as(users["staff"]).get("/api/v1/people").json
    emails = {p["email"] for p in listed}
    assert outsider.email not in emails and gone.email not in emails and "staff@procly.local" in emails
    assert set(listed[0]) == {"id", "name", "email", "teams"}            # no role, status or dates
    assert outsider.email in {p["email"] for p in api_as(users["admin"]).get("/api/v1/people").json}
    assert {p["email"] for p in api_as(outsider).get("/api/v1/people").json} == {outsider.email}


def test_teams_list_and_create(app, users, api_as, admin_api):
    r = admin_api.post("/api/v1/teams", json={"name": "Night shift"})
    assert r.status_code == 201 and r.json["members"] == []
    assert admin_api.post("/api/v1/teams", json={"name": "night shift"}).status_code == 409
    assert admin_api.post("/api/v1/teams", json={"name": ""}).status_code == 422
    assert _events("team.created")[0].data["name"] == "Night shift"
    teams = {t["name"]: t for t in api_as(users["staff"]).get("/api/v1/teams").json}
    assert "Night shift" in teams and teams["Night shift"]["members"] is None     # not a member: names only
    mine = [t for t in teams.values() if t["members"] is not None]
    assert mine and all(any(m["name"] == users["staff"].name for m in t["members"]) for t in mine)


def test_forgot_password_sends_one_link_and_reveals_nothing(app, users, client):
    def ask(email):
        token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
        return client.post("/password/forgot", data={"email": email, "csrf_token": token})

    known, unknown = ask("staff@procly.local"), ask("nobody@procly.local")
    assert known.status_code == unknown.status_code == 302
    assert ask("staff@procly.local").status_code == 302                  # again at once: no second email
    assert len(_events("user.reset_sent")) == 1
    assert _set_password(client, link_in_outbox("staff@procly.local"), "a brand new passphrase").status_code == 302
    assert _sign_in(app.test_client(), "staff@procly.local", "a brand new passphrase").status_code == 302
    assert ask("not an email").status_code == 422


def test_openapi_documents_users_and_teams(app, client):
    paths = client.get("/api/openapi.json").json["paths"]
    for p in ("/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/users/{user_id}/deactivate",
              "/api/v1/users/{user_id}/reactivate", "/api/v1/users/{user_id}/password-reset", "/api/v1/teams",
              "/api/v1/people"):
        assert p in paths, p
