"""The appointment's iCalendar invitation (the `icalendar` library) and its email, through the outbox.

One UID per booking for its whole life; SEQUENCE goes up with every change, so calendar programs
replace the event on a reschedule (METHOD:REQUEST) and remove it on a cancellation (METHOD:CANCEL).
The email shows the time in the booker's own zone, with the signed reschedule and cancel links."""
from __future__ import annotations

from datetime import timezone

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from app import clock
from app.models import Booking, Outbox
from app.notifications.operations import queue_email
from app.scheduling import links
from app.scheduling.slots import to_local

PRODID = "-//Procly//Calendar Schedule//EN"


def _utc(naive):
    return naive.replace(tzinfo=timezone.utc)


def ics(booking: Booking, method: str, summary: str, description: str = "") -> str:
    """The invitation as iCalendar text: METHOD:REQUEST (new or moved) or METHOD:CANCEL."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", booking.uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", _utc(clock.now()))
    event.add("dtstart", _utc(booking.starts_at))
    event.add("dtend", _utc(booking.ends_at))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{current_app.config.get('MAIL_FROM', 'procly@localhost')}")
    organizer.params["cn"] = vText("Procly")
    event["organizer"] = organizer
    if booking.attendee_email:
        attendee = vCalAddress(f"mailto:{booking.attendee_email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    return cal.to_ical().decode()


def when(booking: Booking) -> str:
    """The appointment's time in the booker's zone, e.g. "Thursday 3 December 2026, 09:00–09:30 (Europe/Paris)"."""
    start, end = to_local(booking.starts_at, booking.time_zone), to_local(booking.ends_at, booking.time_zone)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} ({booking.time_zone})"


def send(booking: Booking, what: str, title: str) -> Outbox | None:
    """Email the attendee: `what` is "booked", "moved", "cancelled" or "reminder"."""
    if not booking.attendee_email:
        return None
    method = "CANCEL" if what == "cancelled" else "REQUEST"
    subject = {"booked": f"Appointment confirmed: {title}", "moved": f"Appointment moved: {title}",
               "cancelled": f"Appointment cancelled: {title}", "reminder": f"Reminder: {title}"}[what]
    lines = [{"booked": "Your appointment is booked.", "moved": "Your appointment was moved.",
              "cancelled": "Your appointment was cancelled.", "reminder": "A reminder of your appointment."}[what],
             "", f"When: {when(booking)}", ""]
    if what != "cancelled":
        link = links.url_for_booking(booking)
        lines += ["Need another time, or cannot come? Reschedule or cancel here:", link, ""]
    lines.append("The invitation is attached; open it to add the appointment to your calendar.")
    row = queue_email(booking.attendee_email, subject, "\n".join(lines), kind=f"appointment_{what}"[:32])
    row.calendar = ics(booking, method, title, description=f"{title} — {when(booking)}")
    return row
