"""Booking through the REST API: slots in the caller's zone, a booking writing the datetime Field and
completing the run through the stage type, bad input answered 4xx naming the field, the stage's
checks in the builder, and what a refused call leaves (nothing)."""
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, Outbox, StageTimer
from tests.helpers import db_snapshot
from app.cel.expressions import FieldInfo
from app.definitions.validation import Context, validate_definition
from tests.scheduling.conftest import FIELDS, calendar_stage


def test_slots_in_the_callers_zone(world, frozen):
    run = world.run(world.start())
    r = world.api.get(f"/api/v1/runs/{run.id}/slots?tz=America/New_York")
    assert r.status_code == 200, r.json
    data = r.json
    assert data["time_zone"] == "America/New_York" and data["stage_time_zone"] == "Europe/Paris"
    first = data["slots"][0]
    # Monday 09:00 in Paris = 08:00 UTC = 03:00 in New York
    assert first["start"] == "2030-01-07T08:00:00+00:00" and first["local_start"] == "2030-01-07T03:00:00-05:00"
    assert len(data["slots"]) == 10 * 3      # two working weeks of three slots (the horizon is 14 days)
    window = world.api.get(f"/api/v1/runs/{run.id}/slots?from=2030-01-08T00:00:00Z&to=2030-01-09T00:00:00Z")
    assert [s["start"] for s in window.json["slots"]] == ["2030-01-08T08:00:00+00:00", "2030-01-08T09:00:00+00:00",
                                                          "2030-01-08T10:00:00+00:00"]


def test_book_writes_the_field_and_completes_the_run(world, frozen):
    task_id = world.start()
    run = world.run(task_id)
    r = world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z",
                                                                "time_zone": "Asia/Tokyo"})
    assert r.status_code == 201, r.json
    assert r.json["sequence"] == 0 and r.json["starts_at"] == "2030-01-08T09:00:00+00:00"
    assert world.task(task_id).values["when"] == "2030-01-08T09:00:00+00:00"
    assert world.run(task_id).status == "completed"
    assert world.task(task_id).status == "completed"
    booking = db.session.scalar(select(Booking))
    assert (booking.host, booking.seat, booking.time_zone, booking.attendee_email) == \
        ("team:Ops", 0, "Asia/Tokyo", "jo@client.test")
    row = db.session.scalar(select(Outbox))
    assert row.to == "jo@client.test" and "METHOD:REQUEST" in row.calendar
    assert "Tuesday 8 January 2030, 18:00–19:00 (Asia/Tokyo)" in row.body      # the booker's own zone
    timer = db.session.scalar(select(StageTimer).where(StageTimer.scope == "appointment"))
    assert timer.due_at == datetime(2030, 1, 7, 9) and timer.label == "24h"
    # the slot is gone for the next Task; the same run cannot be booked twice
    other = world.run(world.start())
    starts = [s["start"] for s in world.api.get(f"/api/v1/runs/{other.id}/slots").json["slots"]]
    assert "2030-01-08T09:00:00+00:00" not in starts and "2030-01-08T08:00:00+00:00" in starts
    again = world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T10:00:00Z"})
    assert again.status_code == 409 and again.json["error"]["details"] == {"run": [again.json["error"]["message"]]}


def test_a_taken_slot_is_409_and_changes_nothing(world, frozen):
    first, second = world.run(world.start()), world.run(world.start())
    assert world.api.post(f"/api/v1/runs/{first.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 201
    before = db_snapshot()
    r = world.api.post(f"/api/v1/runs/{second.id}/booking", json={"start": "2030-01-08T09:00:00+00:00"})
    assert r.status_code == 409 and "start" in r.json["error"]["details"]
    assert db_snapshot() == before and db.session.scalar(select(func.count(Booking.id))) == 1


def test_bad_input_names_the_field(world, frozen):
    run = world.run(world.start())
    url = f"/api/v1/runs/{run.id}/booking"
    cases = [({}, "start"), ({"start": "tomorrow"}, "start"), ({"start": "2030-01-08T09:00:00"}, "start"),
             ({"start": "2030-01-08T09:30:00Z"}, "start"),          # not a slot boundary
             ({"start": "2030-01-12T09:00:00Z"}, "start"),          # a Saturday
             ({"start": "2030-02-20T09:00:00Z"}, "start"),          # beyond the 14-day horizon
             ({"start": "2030-01-08T09:00:00Z", "time_zone": "Mars/Olympus"}, "time_zone"),
             ({"start": "2030-01-08T09:00:00Z", "time_zone": 7}, "time_zone")]
    before = db_snapshot()
    for body, field in cases:
        r = world.api.post(url, json=body)
        assert r.status_code == 422, (body, r.json)
        assert field in r.json["error"]["details"], (body, r.json)
    assert world.api.get(f"/api/v1/runs/{run.id}/slots?tz=Nowhere/Special").status_code == 422
    assert world.api.get(f"/api/v1/runs/{run.id}/slots?from=yesterday").status_code == 422
    assert db_snapshot() == before


def test_minimum_notice_refuses_a_slot_too_soon(world, frozen):
    frozen.advance(hours=1, minutes=30)          # 07:30 UTC: the 08:00 slot is 30 minutes away (< 60)
    run = world.run(world.start())
    r = world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-07T08:00:00Z"})
    assert r.status_code == 422 and r.json["error"]["details"] == {"start": ["is not a bookable time"]}


def test_a_plain_form_cannot_complete_it(world, frozen):
    run = world.run(world.start())
    r = world.api.post(f"/api/v1/runs/{run.id}/complete", json={"values": {"when": "2030-01-08T09:00:00Z"}})
    assert r.status_code == 409 and "booking" in r.json["error"]["message"]
    assert world.run(run.task_id).status == "pending"


def test_not_a_calendar_stage(world, frozen):
    world.process("plain", [{"key": "meet", "name": "Plain", "type": "basic", "reads": [], "writes": ["note"],
                             "roles": {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": []}}])
    run = world.run(world.start("plain"))
    assert world.api.get(f"/api/v1/runs/{run.id}/slots").status_code == 409
    assert world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 409


def test_host_from_a_field_and_capacity(world, frozen):
    world.process("shared", [calendar_stage(host_kind="field", host="host", capacity=2)])
    runs = [world.run(world.start("shared", {"name": f"P{i}", "host": "Doc@x.test"})) for i in range(3)]
    for run, want in zip(runs, (201, 201, 409)):
        r = world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z"})
        assert r.status_code == want, r.json
    assert sorted(db.session.scalars(select(Booking.seat))) == [0, 1]
    assert set(db.session.scalars(select(Booking.host))) == {"user:doc@x.test"}
    # no host in the Field yet: nothing to book with
    empty = world.run(world.start("shared", {"name": "Nobody"}))
    assert world.api.get(f"/api/v1/runs/{empty.id}/slots").status_code == 409


def test_builder_checks_the_config(app):
    bad = [calendar_stage(field="note"), calendar_stage(key="m2", field="when", time_zone="Europe/Atlantis"),
           {**calendar_stage(key="m3"), "writes": []}, calendar_stage(key="m4", day_start="18:00"),
           calendar_stage(key="m5", host_kind="field", host="email"), calendar_stage(key="m6", reminders=["soon"])]
    bad[4]["reads"] = ["name"]
    ctx = Context(fields={f["key"]: FieldInfo(f["key"], f["type"]) for f in FIELDS}, process_key="visit",
                  processes={})
    _, found = validate_definition({"stages": bad, "routes": []}, ctx)
    errors = {}
    for e in found:
        errors[e.path] = f"{errors.get(e.path, '')} {e.message}".strip()
    assert "is a text Field, not a date and time" in errors["stages[0].config.field"]
    assert "time zone" in errors["stages[1].config.time_zone"]
    assert errors["stages[2].config.field"] == '"when" is not in writes'
    assert "after the start" in errors["stages[3].config.day_end"]
    assert errors["stages[4].config.host"] == '"email" is not in reads'
    assert "duration" in errors["stages[5].config.reminders[0]"], errors


def test_reschedule_into_a_shared_slot_takes_the_next_seat(world, frozen):
    world.process("pair", [calendar_stage(capacity=2)])
    a, b = (world.run(world.start("pair", {"name": n})) for n in ("A", "B"))
    assert world.api.post(f"/api/v1/runs/{a.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 201
    assert world.api.post(f"/api/v1/runs/{b.id}/booking", json={"start": "2030-01-08T10:00:00Z"}).status_code == 201
    r = world.api.post(f"/api/v1/runs/{b.id}/booking/reschedule", json={"start": "2030-01-08T09:00:00Z"})
    assert r.status_code == 200 and r.json["starts_at"] == "2030-01-08T09:00:00+00:00" and r.json["sequence"] == 1
    db.session.expire_all()
    assert sorted((bk.starts_at.hour, bk.seat) for bk in db.session.scalars(select(Booking))) == [(9, 0), (9, 1)]
    # the slot is full now: a third Task cannot have it, and a move there is refused with nothing changed
    c = world.run(world.start("pair", {"name": "C"}))
    assert world.api.post(f"/api/v1/runs/{c.id}/booking", json={"start": "2030-01-08T09:00:00Z"}).status_code == 409
