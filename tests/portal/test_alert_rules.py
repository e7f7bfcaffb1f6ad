"""Alert rules: the REST API (/api/v1/alerts/rules) and the queue page (/queue/alerts). Only admins and
designers of the Process's Team manage them; bad input is a 4xx naming the field."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event
from app.models.notifications import AlertRule
from tests.helpers import csrf


@pytest.fixture
def designer_api(api_as, users):
    return api_as(users["designer"])     # Intake + Operations


def _rule(**kw):
    return {"process": "intake", "event_type": "stage.failed", "severity": "critical", "channel": "in_app",
            "target": ["team:Intake"], **kw}


def test_crud_by_team_designer(app, designer_api):
    r = designer_api.post("/api/v1/alerts/rules", json=_rule())
    assert r.status_code == 201, r.json
    rid = r.json["id"]
    assert r.json["target"] == ["team:Intake"] and r.json["process"] == "intake"
    assert [x["id"] for x in designer_api.get("/api/v1/alerts/rules?process=intake").json] == [rid]
    assert designer_api.get(f"/api/v1/alerts/rules/{rid}").json["event_type"] == "stage.failed"
    r = designer_api.patch(f"/api/v1/alerts/rules/{rid}", json={"severity": "info", "active": False})
    assert r.status_code == 200 and r.json["severity"] == "info" and r.json["active"] is False
    assert designer_api.delete(f"/api/v1/alerts/rules/{rid}").status_code == 204
    assert db.session.scalar(select(AlertRule)) is None
    types = [e.type for e in db.session.scalars(select(Event).where(Event.type.like("alert_rule.%")).order_by(Event.id))]
    assert types == ["alert_rule.created", "alert_rule.updated", "alert_rule.deleted"]


def test_admin_may_and_others_may_not(app, api_as, users, make_user):
    assert api_as(users["admin"]).post("/api/v1/alerts/rules", json=_rule()).status_code == 201
    rid = db.session.scalar(select(AlertRule.id))
    outsider = make_user("designer", teams=["Compliance"])
    for who in (users["staff"], users["manager"], outsider):
        api = api_as(who)
        assert api.post("/api/v1/alerts/rules", json=_rule()).status_code == 403
        assert api.get("/api/v1/alerts/rules?process=intake").status_code == 403
        assert api.get("/api/v1/alerts/rules").json == []                       # sees no other team's rules
        assert api.get(f"/api/v1/alerts/rules/{rid}").status_code == 404        # nor learns they exist
        assert api.patch(f"/api/v1/alerts/rules/{rid}", json={"severity": "info"}).status_code == 404
        assert api.delete(f"/api/v1/alerts/rules/{rid}").status_code == 404
    assert db.session.scalar(select(AlertRule.severity)) == "critical"


def test_anonymous_refused(app, client):
    assert client.get("/api/v1/alerts/rules").status_code == 401
    assert client.post("/api/v1/alerts/rules", json=_rule()).status_code in (400, 401)


@pytest.mark.parametrize("change,field", [
    ({"event_type": "task.exploded"}, "event_type"),
    ({"event_type": "*"}, "event_type"),
    ({"severity": "apocalyptic"}, "severity"),
    ({"channel": "sms"}, "channel"),
    ({"channel": "webhook", "target": ["ftp://example.com/x"]}, "target"),
    ({"channel": "webhook", "target": ["file:///etc/passwd"]}, "target"),
    ({"channel": "webhook", "target": ["javascript:alert(1)"]}, "target"),
    ({"channel": "webhook", "target": ["http://user:pw@example.com/"]}, "target"),
    ({"channel": "webhook", "target": ["http://exa mple.com/"]}, "target"),
    ({"channel": "webhook", "target": ["https://example.com/" + "x" * 300]}, "target"),
    ({"channel": "webhook", "target": []}, "target"),
    ({"channel": "in_app", "target": ["everyone"]}, "target"),
    ({"channel": "in_app", "target": ["someone@example.com"]}, "target"),   # emails only on the email channel
    ({"channel": "email", "target": ["not an email"]}, "target"),
    ({"target": "team:Intake"}, "target"),      # a list, not a string
    ({"active": "yes"}, "active"),
    ({"process": None}, "process"),
])
def test_bad_input_names_the_field(app, designer_api, change, field):
    r = designer_api.post("/api/v1/alerts/rules", json=_rule(**change))
    assert r.status_code == 422, r.json
    assert field in str(r.json["error"]["details"])
    assert db.session.scalar(select(AlertRule)) is None


def test_unknown_process_and_patch_validation(app, designer_api):
    r = designer_api.post("/api/v1/alerts/rules", json=_rule(process="nope"))
    assert r.status_code == 404 and "process" in r.json["error"]["details"]
    rid = designer_api.post("/api/v1/alerts/rules", json=_rule()).json["id"]
    # switching the channel to webhook while the target is still a role ref is refused, naming target
    r = designer_api.patch(f"/api/v1/alerts/rules/{rid}", json={"channel": "webhook"})
    assert r.status_code == 422 and "target" in r.json["error"]["details"]
    r = designer_api.patch(f"/api/v1/alerts/rules/{rid}", json={"channel": "webhook",
                                                              "target": ["https://hooks.example.com/a"]})
    assert r.status_code == 200 and r.json["target"] == ["https://hooks.example.com/a"]
    assert designer_api.get("/api/v1/alerts/rules/999999").status_code == 404


def test_documented_in_openapi(app, client):
    spec = client.get("/api/openapi.json").json
    ops = spec["paths"]["/api/v1/alerts/rules"]
    assert {"get", "post"} <= set(ops)
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/alerts/rules/{rule_id}"])
    body = ops["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][body]["properties"]
    assert props["event_type"]["enum"][:2] == ["stage.escalated", "sla.breached"]
    assert set(props["channel"]["enum"]) == {"in_app", "email", "webhook"}


# --- the queue page --------------------------------------------------------------------------------

def test_queue_page_add_and_delete(app, users, web_login, client):
    web_login("designer@procly.local")
    page = client.get("/queue/alerts?process=intake").get_data(as_text=True)
    assert "Alert rules" in page and "rules-empty" in page and "approval.rejected" in page
    tok = csrf(client)
    r = client.post("/queue/alerts/rules", data={"csrf_token": tok, "process": "intake", "event_type": "task.moved",
                                                 "severity": "warning", "channel": "webhook",
                                                 "target": "https://hooks.example.com/procly"})
    assert r.status_code == 302
    rule = db.session.scalar(select(AlertRule))
    assert (rule.event_type, rule.channel, rule.target) == ("task.moved", "webhook", "https://hooks.example.com/procly")
    page = client.get("/queue/alerts?process=intake").get_data(as_text=True)
    assert "hooks.example.com/procly" in page and f'data-rule="{rule.id}"' in page
    # bad input: 422, the form names the field, nothing stored
    r = client.post("/queue/alerts/rules", data={"csrf_token": tok, "process": "intake", "event_type": "task.moved",
                                                 "severity": "warning", "channel": "webhook",
                                                 "target": "gopher://evil.example.com"})
    assert r.status_code == 422 and "target" in r.get_data(as_text=True)
    assert db.session.scalar(select(AlertRule.id).where(AlertRule.id != rule.id)) is None
    assert client.post(f"/queue/alerts/rules/{rule.id}/delete", data={"csrf_token": tok}).status_code == 302
    assert db.session.scalar(select(AlertRule)) is None


def test_queue_page_refuses_others(app, users, web_login, client, make_user):
    db.session.add(AlertRule(process_id=_process_id("intake"), event_type="task.completed", channel="in_app"))
    db.session.commit()
    rid = db.session.scalar(select(AlertRule.id))
    web_login("staff@procly.local")
    tok = csrf(client)
    assert client.get("/queue/alerts").status_code == 403
    assert client.post("/queue/alerts/rules", data={"csrf_token": tok, "process": "intake",
                                                    "event_type": "task.moved"}).status_code == 403
    assert client.post(f"/queue/alerts/rules/{rid}/delete", data={"csrf_token": tok}).status_code == 404
    # no CSRF token: refused
    assert client.post(f"/queue/alerts/rules/{rid}/delete").status_code in (400, 302, 403)
    assert db.session.scalar(select(AlertRule.id)) == rid


def test_queue_page_refuses_other_team_designer(app, users, web_login, client, make_user):
    db.session.add(AlertRule(process_id=_process_id("intake"), event_type="task.completed", channel="in_app"))
    db.session.commit()
    rid = db.session.scalar(select(AlertRule.id))
    other = make_user("designer", teams=["Compliance"], email="d2@procly.local")
    web_login(other.email, "pw-secret-1")
    tok = csrf(client)
    assert client.get("/queue/alerts").status_code == 403            # Compliance owns no Process
    assert client.get("/queue/alerts?process=intake").status_code == 403
    assert client.post(f"/queue/alerts/rules/{rid}/delete", data={"csrf_token": tok}).status_code == 404
    assert client.post("/queue/alerts/rules", data={"csrf_token": tok, "process": "intake",
                                                    "event_type": "task.moved"}).status_code == 403
    assert db.session.scalar(select(AlertRule.id)) == rid


def _process_id(key):
    from app.models import Process

    return db.session.scalar(select(Process.id).where(Process.key == key))
