"""Rules for changing a booked appointment (reschedule, cancel): staff who may work the booking's
Stage, the participant of its Task (their magic link), or whoever holds the booking's own signed
link (a `BookingGrant`, made by app.scheduling.links once the signature and expiry checked out).
Booking a slot itself is `run.complete` on the run (runs.py): the booking completes it."""
from __future__ import annotations

from dataclasses import dataclass

from app.models import Booking, MagicLink, StageRun
from app.permissions.decisions import ALLOW, Decision, hide, rule
from app.permissions.refs import is_participant
from app.permissions.runs import run_rule
from app.extensions import db


@dataclass(frozen=True)
class BookingGrant:
    """The holder of a booking's signed reschedule / cancel link: that one booking, nothing else."""
    booking_id: int


@rule("booking.change")
def booking_rule(who, booking: Booking, *, operation: str) -> Decision:
    if isinstance(who, BookingGrant):
        return ALLOW if who.booking_id == booking.id else hide(f"No booking {booking.id}.")
    if is_participant(who):
        ok = MagicLink.refusal(who) is None and who.task_id == booking.task_id
        return ALLOW if ok else hide(f"No booking {booking.id}.")
    run = db.session.get(StageRun, booking.stage_run_id)
    return run_rule(who, run, operation="run.complete")
