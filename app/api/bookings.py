"""/api/v1/runs/<id>/slots and /api/v1/runs/<id>/booking: the free times of a Calendar Schedule
Stage Run and booking, rescheduling or cancelling its appointment. Thin views over
app.scheduling.operations, which asks app.permissions (invisible -> 404, not allowed -> 403)."""
from __future__ import annotations

from datetime import timezone

from flask.views import MethodView
from flask_smorest import Blueprint

from app.auth.access import actor, login_required_api, require_login
from app.scheduling import operations as scheduling
from app.scheduling.schemas import BookingSchema, BookSchema, SlotsQuerySchema, SlotsSchema, slots_payload

blp = Blueprint("bookings", __name__, description="Calendar Schedule: free slots of a run, and its booking")
blp.api_prefix = "/api/v1/runs"


def _naive(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment and moment.tzinfo else moment


@blp.route("/<int:run_id>/slots")
@login_required_api
@blp.arguments(SlotsQuerySchema, location="query")
@blp.response(200, SlotsSchema)
def slots(query, run_id):
    """The free slots of a Calendar Schedule run within [from, to): working hours in the Stage's zone,
    minus slots full of bookings and the host calendar's busy times; each also in the zone `tz`."""
    tz = scheduling.zone_name(query["tz"])
    found = scheduling.slots(run_id, require_login(), _naive(query["from_"]), _naive(query["to"]))
    return slots_payload(found, tz)


@blp.route("/<int:run_id>/booking")
class RunBooking(MethodView):
    """One rule for both methods: the URL map then answers a path no rule matches as 404 for both."""

    @login_required_api
    @blp.response(200, BookingSchema)
    def get(self, run_id):
        """The run's booked appointment (404 when there is none)."""
        return scheduling.live_booking(run_id, require_login())

    @login_required_api
    @blp.arguments(BookSchema)
    @blp.response(201, BookingSchema)
    def post(self, data, run_id):
        """Book one of the run's free slots: writes the booked time (UTC) into the Stage's datetime
        Field, completes the run, emails the invitation (.ics). 409 when the slot was just taken; 422
        when `start` is not a slot offered."""
        return scheduling.book(run_id, data["start"], require_login(), actor(), data["time_zone"])


@blp.route("/<int:run_id>/booking/slots")
@login_required_api
@blp.arguments(SlotsQuerySchema, location="query")
@blp.response(200, SlotsSchema)
def booking_slots(query, run_id):
    """The free slots the run's booked appointment may move to (its own time counts as free)."""
    tz = scheduling.zone_name(query["tz"])
    who = require_login()
    found = scheduling.slots_for_change(scheduling.live_booking(run_id, who), who, _naive(query["from_"]),
                                        _naive(query["to"]))
    return slots_payload(found, tz)


@blp.route("/<int:run_id>/booking/reschedule", methods=["POST"])
@login_required_api
@blp.arguments(BookSchema)
@blp.response(200, BookingSchema)
def reschedule(data, run_id):
    """Move the run's appointment to another free slot (same UID, SEQUENCE + 1, a new invitation)."""
    who = require_login()
    return scheduling.reschedule(scheduling.live_booking(run_id, who), data["start"], who, actor(),
                                 data["time_zone"])


@blp.route("/<int:run_id>/booking/cancel", methods=["POST"])
@login_required_api
@blp.response(200, BookingSchema)
def cancel(run_id):
    """Cancel the run's appointment: the slot is free again, the Field cleared, METHOD:CANCEL sent."""
    who = require_login()
    return scheduling.cancel(scheduling.live_booking(run_id, who), who, actor())
