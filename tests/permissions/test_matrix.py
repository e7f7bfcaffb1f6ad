"""The permission matrix: roles × stage visibility × reads/writes, through every door
(functions, API list/detail/PATCH, Task page, CSV export, socket rooms and messages)."""
import csv
import io

import pytest
from sqlalchemy import select

from app import permissions
from app.extensions import db
from app.models import Task, User
from tests.helpers import csrf
from tests.permissions.conftest import SECRET_VALUES

ALL = set(SECRET_VALUES) | {"source", "message", "spam_score", "location", "documents_complete", "eligible",
                            "appointment_at"}
# user -> (readable, writable) on the "matrix" Task
EXPECTED = {
    "admin": (ALL, {"email", "notes", "phone"}),
    "designer": (ALL, {"email", "notes", "phone"}),
    "staff": ({"name"}, {"email"}),
    "approver": ({"name", "budget", "notes"}, {"notes"}),
    "manager": ({"name", "phone"}, {"email", "phone"}),
    "outsider": ({"name"}, set()),
}


@pytest.fixture
def who(users, make_user):
    def get(name):
        if name == "outsider":
            return db.session.scalar(select(User).where(User.email == "outsider@example.com")) \
                or make_user("staff", email="outsider@example.com")
        return users[name]
    return get


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_functions(matrix, who, name):
    user = who(name)
    task = db.session.get(Task, matrix["matrix"].id)
    readable, writable = EXPECTED[name]
    assert permissions.can_see_task(user, task)
    assert permissions.visible_fields(user, task) == readable
    assert permissions.task_writable_fields(user, task) == writable


@pytest.mark.parametrize("name,sees", [("admin", True), ("designer", True), ("staff", False), ("approver", False),
                                       ("manager", False), ("outsider", False)])
def test_hidden_process(matrix, who, name, sees):
    assert permissions.can_see_task(who(name), db.session.get(Task, matrix["hidden"].id)) is sees


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_api_read_filters_values(matrix, who, api_as, name):
    api = api_as(who(name))
    readable, _ = EXPECTED[name]
    tid = matrix["matrix"].id
    body = api.get(f"/api/v1/tasks/{tid}").get_json()
    assert set(body["values"]) == readable & set(SECRET_VALUES)
    listed = {t["id"]: t for t in api.get("/api/v1/tasks").get_json()["items"]}
    assert set(listed[tid]["values"]) == readable & set(SECRET_VALUES)
    hidden = matrix["hidden"].id
    if name in ("admin", "designer"):
        assert hidden in listed
    else:
        assert hidden not in listed
        assert api.get(f"/api/v1/tasks/{hidden}").status_code == 404
        assert api.patch(f"/api/v1/tasks/{hidden}", json={"values": {"notes": "x"}}).status_code == 404


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_api_patch_only_writable(matrix, who, api_as, name):
    user = who(name)
    api = api_as(user)
    tid = matrix["matrix"].id
    _, writable = EXPECTED[name]
    candidates = {"email": "new@example.com", "notes": "changed", "phone": "+1 555 0199", "budget": 1,
                  "name": "Renamed"}
    for key, value in candidates.items():
        r = api.patch(f"/api/v1/tasks/{tid}", json={"values": {key: value}})
        db.session.expire_all()
        stored = db.session.get(Task, tid).values[key]
        if key in writable:
            assert r.status_code == 200, (key, r.get_json())
            assert stored == value
            # the response shows only readable fields, even the one just written
            assert set(r.get_json()["values"]) <= EXPECTED[name][0]
        else:
            assert r.status_code in (403, 404), (key, r.get_json())
            assert stored == SECRET_VALUES[key]
    # a mixed write (one allowed, one not) changes nothing at all
    if writable:
        key = sorted(writable)[0]
        before = dict(db.session.get(Task, tid).values)
        r = api.patch(f"/api/v1/tasks/{tid}", json={"values": {key: candidates[key], "budget": 5}})
        assert r.status_code == 403
        db.session.expire_all()
        assert db.session.get(Task, tid).values == before


@pytest.mark.parametrize("name", ["staff", "approver", "manager", "outsider"])
def test_task_page_and_csv(matrix, who, client, name, make_user):
    user = who(name)
    if name == "outsider":
        from app.auth.passwords import hash_password

        user.password_hash = hash_password("procly-demo-2026")
        db.session.commit()
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    assert client.post("/login", data={"email": user.email, "password": "procly-demo-2026",
                                       "csrf_token": token}).status_code == 302
    readable, _ = EXPECTED[name]
    page = client.get(f"/queue/tasks/{matrix['matrix'].id}").get_data(as_text=True)
    for key, value in SECRET_VALUES.items():
        assert (str(value) in page) == (key in readable), key
    assert client.get(f"/queue/tasks/{matrix['hidden'].id}").status_code == 404
    resp = client.get("/queue/tables/clients?format=csv")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [int(r["task"]) for r in rows] == [matrix["matrix"].id]
    assert set(rows[0]) - {"task", "process", "status"} == readable
    text = resp.get_data(as_text=True)
    for key, value in SECRET_VALUES.items():
        if key not in readable:
            assert str(value) not in text
    # a web form write outside writes is refused and changes nothing
    tok = csrf(client)
    r = client.post(f"/queue/tasks/{matrix['matrix'].id}/values", data={"csrf_token": tok, "f_budget": "1"})
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Task, matrix["matrix"].id).values["budget"] == SECRET_VALUES["budget"]


def test_socket_messages_carry_no_values(matrix, who, api_as, monkeypatch):
    sent = []
    monkeypatch.setattr("app.infra.realtime.emit_many", lambda messages: sent.extend(messages))
    api = api_as(who("approver"))
    assert api.patch(f"/api/v1/tasks/{matrix['matrix'].id}",
                     json={"values": {"notes": "socket-secret-xyz"}}).status_code == 200
    assert sent, "a change is announced"
    assert "socket-secret-xyz" not in repr(sent)
    for _, payload, _room in sent:
        assert set(payload) <= {"task", "process", "status", "run", "comment", "external", "id", "type"}


def test_socket_rooms(matrix, who):
    from app.realtime import may_join

    staff = who("staff")
    staff.is_authenticated  # noqa: B018
    assert may_join(staff, f"task:{matrix['matrix'].id}")
    assert not may_join(staff, f"task:{matrix['hidden'].id}")
    assert may_join(who("admin"), f"task:{matrix['hidden'].id}")


def test_queue_actions_need_roles(matrix, who, client):
    """An outsider (no team) may see the Task but not claim the Intake stage; staff may."""
    import re

    from app.models import StageRun

    run = db.session.scalar(select(StageRun).where(StageRun.task_id == matrix["matrix"].id,
                                                   StageRun.stage_key == "public"))
    assert not permissions.can_act(who("outsider"), run, "claim")
    assert permissions.can_act(who("staff"), run, "claim")
    assert not permissions.can_act(who("staff"), run, "approve")
    secret = db.session.scalar(select(StageRun).where(StageRun.task_id == matrix["matrix"].id,
                                                      StageRun.stage_key == "secret"))
    assert not permissions.can_act(who("staff"), secret, "view")
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    client.post("/login", data={"email": "staff@procly.local", "password": "procly-demo-2026", "csrf_token": token})
    tok = csrf(client)
    # acting on a Stage Run of an invisible Stage: 404, nothing changes
    r = client.post(f"/queue/runs/{secret.id}/act", data={"csrf_token": tok, "action": "complete", "f_notes": "x"})
    assert r.status_code == 404
    r = client.post(f"/queue/runs/{secret.id}/comments", data={"csrf_token": tok, "body": "hi"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(StageRun, secret.id).status == "pending"
