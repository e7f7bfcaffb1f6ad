"""Busy times from a real CalDAV server (Radicale, started by the tests): events in the host's
calendar take their slots away; transparent (free) events do not; an unreadable calendar offers no
slot (503) rather than one that may be taken; a private address is refused unless the install allows it."""
import caldav

from tests.scheduling.conftest import calendar_stage, free_port

BUSY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20300101T000000Z
DTSTART{start}
DTEND{end}
SUMMARY:{summary}
{extra}END:VEVENT
END:VCALENDAR
"""


def _calendar(radicale: str, name: str):
    client = caldav.DAVClient(url=radicale, username="host", password="x")
    cal = client.principal().make_calendar(name=name)
    cal.save_event(BUSY.format(uid="dentist@test", start=":20300108T093000Z", end=":20300108T103000Z",
                               summary="Dentist", extra=""))
    # 09:00–10:00 Paris time on Wednesday = 08:00–09:00 UTC, written in the Paris zone
    cal.save_event(BUSY.format(uid="paris@test", start=";TZID=Europe/Paris:20300109T090000",
                               end=";TZID=Europe/Paris:20300109T100000", summary="Team meeting", extra=""))
    cal.save_event(BUSY.format(uid="free@test", start=":20300110T080000Z", end=":20300110T090000Z",
                               summary="Maybe", extra="TRANSP:TRANSPARENT\n"))
    return str(cal.url)


def test_busy_events_remove_slots(app, world, frozen, radicale):
    url = _calendar(radicale, "ops-busy")
    app.config["CALDAV_CREDENTIALS"] = {"ops": {"username": "host", "password": "x"}}   # a name in the definition
    world.process("busy", [calendar_stage(caldav_url=url, caldav_credentials="ops")])
    run = world.run(world.start("busy"))
    r = world.api.get(f"/api/v1/runs/{run.id}/slots?from=2030-01-08T00:00:00Z&to=2030-01-11T00:00:00Z")
    assert r.status_code == 200, r.json
    starts = {s["start"][:16] for s in r.json["slots"]}
    # Tuesday: 09:00 and 10:00 UTC overlap the dentist (09:30–10:30); 08:00 stays
    assert {"2030-01-08T08:00"} <= starts and not {"2030-01-08T09:00", "2030-01-08T10:00"} & starts
    # Wednesday: the Paris-zoned meeting takes 08:00 UTC only
    assert "2030-01-09T08:00" not in starts and {"2030-01-09T09:00", "2030-01-09T10:00"} <= starts
    # Thursday: a transparent event blocks nothing
    assert {"2030-01-10T08:00", "2030-01-10T09:00", "2030-01-10T10:00"} <= starts
    r = world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z"})
    assert r.status_code == 409 and "taken" in r.json["error"]["message"]
    assert world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T08:00:00Z"}).status_code == 201


def test_unreadable_or_refused_calendar(app, world, frozen, radicale):
    world.process("down", [calendar_stage(caldav_url=f"http://127.0.0.1:{free_port()}/nobody/cal/")])
    run = world.run(world.start("down"))
    r = world.api.get(f"/api/v1/runs/{run.id}/slots")
    assert r.status_code == 503 and "calendar" in r.json["error"]["details"]
    assert world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T08:00:00Z"}).status_code == 503
    world.process("named", [calendar_stage(key="meet", caldav_url=_calendar(radicale, "ops-named"),
                                           caldav_credentials="missing")])
    run = world.run(world.start("named"))
    r = world.api.get(f"/api/v1/runs/{run.id}/slots")
    assert r.status_code == 503 and "missing" in r.json["error"]["message"]
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        world.process("private", [calendar_stage(caldav_url=radicale + "host/x/")])
        run = world.run(world.start("private"))
        r = world.api.get(f"/api/v1/runs/{run.id}/slots")
        assert r.status_code == 503 and "refused" in r.json["error"]["message"]
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
