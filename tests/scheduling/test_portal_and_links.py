"""The participant books on the portal (their magic-link session), and changes the booking through
the signed links of the confirmation email. Attacks: another Team's staff, a participant with another
Task's link, a missing form token, a forged, altered or expired signed link, a link used after the
appointment started or after a cancellation."""
import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, Outbox
from app.participants import links
from app.scheduling import links as booking_links
from tests.helpers import db_snapshot
from tests.scheduling.conftest import calendar_stage

FOLLOW = {"key": "follow", "name": "Follow up", "type": "basic", "reads": [], "writes": ["note"],
          "roles": {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": []}}


@pytest.fixture
def two_step(world):
    world.process("visit2", [calendar_stage(), FOLLOW])
    return world


def portal_client(app, task_id, email="jo@client.test"):
    from app.models import Task

    _, secret = links.invite(db.session.get(Task, task_id), email)
    db.session.commit()
    client = app.test_client()
    assert client.get(f"/portal/t/{secret}").status_code == 302
    page = client.get("/portal/").get_data(as_text=True)
    token = re.search(r'data-form-token="([^"]+)"', page)
    return client, (token.group(1) if token else None), page


def test_participant_books_in_their_zone(app, two_step, frozen):
    task_id = two_step.start("visit2")
    run = two_step.run(task_id)
    client, form_token, page = portal_client(app, task_id)
    assert two_step.run(task_id).status == "waiting_on_participant"
    assert 'class="slot-picker"' in page and "js/scheduling/picker.js" in page
    r = client.get(f"/portal/runs/{run.id}/slots?tz=Australia/Sydney", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json["slots"][0]["local_start"] == "2030-01-07T19:00:00+11:00"
    # no form token: refused, nothing written
    before = db_snapshot()
    r = client.post(f"/portal/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json["error"]["details"] == {"form_token": ["expired"]}
    assert db_snapshot() == before
    r = client.post(f"/portal/runs/{run.id}/booking", headers={"Accept": "application/json"},
                    json={"start": "2030-01-08T09:00:00Z", "time_zone": "Australia/Sydney", "form_token": form_token})
    assert r.status_code == 201, r.json
    assert two_step.task(task_id).values["when"] == "2030-01-08T09:00:00+00:00"
    assert two_step.run(task_id).status == "completed"
    booking = db.session.scalar(select(Booking))
    assert booking.booked_by.startswith("participant:") and booking.time_zone == "Australia/Sydney"
    assert "Tuesday 8 January 2030, 20:00–21:00 (Australia/Sydney)" in db.session.scalar(select(Outbox.body)
                                                                                       .where(Outbox.calendar.isnot(None)))


def test_another_tasks_participant_and_another_team_see_nothing(app, world, frozen):
    mine, theirs = world.start(), world.start(values={"name": "Other", "email": "o@client.test"})
    run_mine, run_theirs = world.run(mine), world.run(theirs)
    client, form_token, _ = portal_client(app, mine)
    before = db_snapshot()
    json_ = {"Accept": "application/json"}
    assert client.get(f"/portal/runs/{run_theirs.id}/slots", headers=json_).status_code == 404
    r = client.post(f"/portal/runs/{run_theirs.id}/booking", headers=json_,
                    json={"start": "2030-01-08T09:00:00Z", "form_token": form_token})
    assert r.status_code == 404
    # staff of another Team: the run does not exist for them
    assert world.api_other.get(f"/api/v1/runs/{run_mine.id}/slots").status_code == 404
    assert world.api_other.post(f"/api/v1/runs/{run_mine.id}/booking",
                                json={"start": "2030-01-08T09:00:00Z"}).status_code == 404
    assert db_snapshot() == before
    # once booked, they cannot read, move or cancel it either
    assert world.api.post(f"/api/v1/runs/{run_mine.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 201
    before = db_snapshot()
    assert world.api_other.get(f"/api/v1/runs/{run_mine.id}/booking").status_code == 404
    assert world.api_other.post(f"/api/v1/runs/{run_mine.id}/booking/cancel").status_code == 404
    assert world.api_other.post(f"/api/v1/runs/{run_mine.id}/booking/reschedule",
                                json={"start": "2030-01-08T10:00:00Z"}).status_code == 404
    assert db_snapshot() == before
    assert world.api.get(f"/api/v1/runs/{run_mine.id}/booking").json["status"] == "booked"


def _link_token(body: str) -> str:
    return re.search(r"/portal/b/([A-Za-z0-9_.\-]+)", body).group(1)


def test_signed_link_reschedules_and_cancels(app, two_step, frozen):
    task_id = two_step.start("visit2")
    run = two_step.run(task_id)
    assert two_step.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 201
    token = _link_token(db.session.scalar(select(Outbox.body)))
    client = app.test_client()
    page = client.get(f"/portal/b/{token}")
    assert page.status_code == 200 and "Cancel the appointment" in page.get_data(as_text=True)
    slots = client.get(f"/portal/b/{token}/slots?tz=Europe/Paris").json["slots"]
    assert "2030-01-08T09:00:00+00:00" in [s["start"] for s in slots]     # its own seat counts as free
    r = client.post(f"/portal/b/{token}/reschedule", json={"start": "2030-01-09T10:00:00Z", "time_zone": "Europe/Paris"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200, r.json
    booking = db.session.scalar(select(Booking))
    db.session.refresh(booking)
    assert booking.sequence == 1 and booking.seat == 0
    assert two_step.task(task_id).values["when"] == "2030-01-09T10:00:00+00:00"
    # the old time is free again for someone else, the new one is not
    other = two_step.run(two_step.start("visit2", {"name": "B"}))
    starts = [s["start"] for s in two_step.api.get(f"/api/v1/runs/{other.id}/slots").json["slots"]]
    assert "2030-01-08T09:00:00+00:00" in starts and "2030-01-09T10:00:00+00:00" not in starts
    r = client.post(f"/portal/b/{token}/cancel")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/b/cancelled")
    db.session.refresh(booking)
    assert (booking.status, booking.seat, booking.sequence) == ("cancelled", None, 2)
    assert two_step.task(task_id).values.get("when") is None
    # a cancelled booking's link opens nothing; its time can be booked again
    assert client.get(f"/portal/b/{token}").status_code == 404
    assert client.post(f"/portal/b/{token}/cancel").status_code == 404
    assert two_step.api.post(f"/api/v1/runs/{other.id}/booking", json={"start": "2030-01-09T10:00:00Z"}).status_code == 201


def test_forged_altered_and_expired_links(app, world, frozen):
    runs = [world.run(world.start(values={"name": n, "email": f"{n}@client.test"})) for n in ("a", "b")]
    for run, hour in zip(runs, (9, 10)):
        assert world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": f"2030-01-08T{hour:02d}:00:00Z"}).status_code == 201
    a, b = db.session.scalars(select(Booking).order_by(Booking.id)).all()
    good = booking_links.token_for(a)
    client = app.test_client()
    before = db_snapshot()
    forged = URLSafeTimedSerializer("not-the-secret", salt=booking_links.SALT).dumps({"b": b.id, "u": b.uid})
    altered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="procly.other").dumps({"b": b.id, "u": b.uid})
    wrong_uid = booking_links._serializer().dumps({"b": b.id, "u": a.uid})

    class LongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - (booking_links.LINK_DAYS + 1) * 86400

    expired = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=booking_links.SALT, signer=LongAgo).dumps(
        {"b": a.id, "u": a.uid})
    for token in (forged, altered, other_salt, wrong_uid, expired, "x", "a" * 400):
        assert client.get(f"/portal/b/{token}").status_code == 404, token
        assert client.post(f"/portal/b/{token}/cancel").status_code == 404, token
        r = client.post(f"/portal/b/{token}/reschedule", json={"start": "2030-01-09T10:00:00Z"})
        assert r.status_code == 404, token
    assert db_snapshot() == before
    # once the appointment has started, its link no longer changes it
    assert client.get(f"/portal/b/{good}").status_code == 200
    frozen.advance(days=1, hours=3)
    assert client.get(f"/portal/b/{good}").status_code == 404
    assert client.post(f"/portal/b/{good}/cancel").status_code == 404
    db.session.refresh(a)
    assert a.status == "booked"
