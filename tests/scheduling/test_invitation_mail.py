"""The confirmation email leaves through the outbox to a real SMTP server (aiosmtpd) with a valid
iCalendar invitation, parsed back with icalendar: METHOD:REQUEST with a stable UID, SEQUENCE bumped
by a reschedule, METHOD:CANCEL on a cancellation; the email's links open the booking's page."""
import re
from datetime import datetime, timezone

from app.extensions import db
from app.notifications import mail
from tests.scheduling.conftest import calendar_stage


def _event(cal):
    return next(iter(cal.walk("VEVENT")))


def test_invitation_reschedule_and_cancel(app, world, smtp, frozen):
    world.process("visit2", [calendar_stage(),
                             {"key": "follow", "name": "Follow up", "type": "basic", "reads": [], "writes": ["note"]}])
    run = world.run(world.start("visit2"))
    assert world.api.post(f"/api/v1/runs/{run.id}/booking", json={"start": "2030-01-08T09:00:00Z",
                                                                   "time_zone": "Europe/Paris"}).status_code == 201
    assert smtp.messages == []                      # the request only wrote the outbox
    assert mail.deliver_due() == {"sent": 1, "failed": 0}
    (part, cal), = smtp.calendars()
    msg = smtp.parsed()[0]
    assert msg["To"] == "jo@client.test" and msg["Subject"] == "Appointment confirmed: Schedule a visit"
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    ev = _event(cal)
    assert str(cal["METHOD"]) == "REQUEST" and str(cal["VERSION"]) == "2.0"
    uid = str(ev["UID"])
    assert int(ev["SEQUENCE"]) == 0 and str(ev["STATUS"]) == "CONFIRMED"
    assert ev.decoded("DTSTART") == datetime(2030, 1, 8, 9, tzinfo=timezone.utc)
    assert ev.decoded("DTEND") == datetime(2030, 1, 8, 10, tzinfo=timezone.utc)
    assert str(ev["ATTENDEE"]) == "mailto:jo@client.test"
    text = msg.get_body(("plain",)).get_content()
    assert "Tuesday 8 January 2030, 10:00–11:00 (Europe/Paris)" in text
    link = re.search(r"https?://\S+/portal/b/\S+", text).group(0)
    assert app.test_client().get("/" + link.split("://", 1)[1].split("/", 1)[1]).status_code == 200

    r = world.api.post(f"/api/v1/runs/{run.id}/booking/reschedule", json={"start": "2030-01-10T08:00:00Z"})
    assert r.status_code == 200 and r.json["sequence"] == 1
    assert mail.deliver_due()["sent"] == 1
    (_, moved) = smtp.calendars()[1]
    ev = _event(moved)
    assert str(moved["METHOD"]) == "REQUEST" and str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 1
    assert ev.decoded("DTSTART") == datetime(2030, 1, 10, 8, tzinfo=timezone.utc)
    assert smtp.parsed()[1]["Subject"] == "Appointment moved: Schedule a visit"

    r = world.api.post(f"/api/v1/runs/{run.id}/booking/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert mail.deliver_due()["sent"] == 1
    (part, cancelled) = smtp.calendars()[2]
    ev = _event(cancelled)
    assert part.get_param("method") == "CANCEL" and str(cancelled["METHOD"]) == "CANCEL"
    assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 2 and str(ev["STATUS"]) == "CANCELLED"
    assert "/portal/b/" not in smtp.parsed()[2].get_body(("plain",)).get_content()
    assert world.api.post(f"/api/v1/runs/{run.id}/booking/cancel").status_code == 404   # nothing live to cancel
    db.session.rollback()
