"""The portal's side of Calendar Schedule: the participant's slot picker (JSON, behind their magic-link
session and its form token) and the booking's own signed page (reschedule / cancel links in the
confirmation email, no session needed: the signed token is the capability)."""
from __future__ import annotations

import hmac

from flask import abort, jsonify, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from app.errors import Invalid
from app.extensions import limiter
from app.portal.routes import bp, client_ip, current_link
from app.scheduling import links as booking_links
from app.scheduling import operations as scheduling
from app.scheduling.schemas import BookingSchema, BookSchema, SlotsQuerySchema, SlotsSchema, slots_payload


def _load(schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Invalid("The request is invalid: see details.", exc.messages) from None


def _form_token(data: dict) -> None:
    expected = session.get("portal_form", "")
    if not expected or not hmac.compare_digest(expected, str(data.pop("form_token", ""))):
        raise Invalid("This page has expired: reload it.", {"form_token": ["expired"]}, status=400)


def _naive(moment):
    return scheduling.parse_instant(moment.isoformat()) if moment is not None and moment.tzinfo else moment


def _slots(run_id: int, who):
    query = _load(SlotsQuerySchema(), request.args.to_dict())
    tz = scheduling.zone_name(query["tz"])
    return jsonify(SlotsSchema().dump(slots_payload(scheduling.slots(run_id, who, _naive(query["from_"]),
                                                                     _naive(query["to"])), tz)))


@bp.get("/runs/<int:run_id>/slots")
@limiter.limit("60/minute", key_func=client_ip)
def run_slots(run_id: int):
    return _slots(run_id, current_link())


@bp.post("/runs/<int:run_id>/booking")
@limiter.limit("30/minute", key_func=client_ip)
def run_book(run_id: int):
    link = current_link()
    data = dict(request.get_json(silent=True) or {})
    _form_token(data)
    body = _load(BookSchema(), data)
    booking = scheduling.book(run_id, body["start"], link, f"participant:{link.participant_id}", body["time_zone"])
    return jsonify(BookingSchema().dump(booking)), 201


def _grant(token: str):
    opened = booking_links.open_token(token)
    if opened is None:
        abort(404)
    return opened


@bp.get("/b/<token>")
@limiter.limit("30/minute", key_func=client_ip)
def booking_page(token: str):
    booking = _grant(token)[0]
    run = scheduling.db_run(booking)
    stage, config = scheduling.calendar_stage(run)
    return render_template("portal/booking.html", booking=booking, stage=stage, config=config, token=token,
                           done=request.args.get("done", ""))


@bp.get("/b/<token>/slots")
@limiter.limit("60/minute", key_func=client_ip)
def booking_slots(token: str):
    booking, grant = _grant(token)
    query = _load(SlotsQuerySchema(), request.args.to_dict())
    tz = scheduling.zone_name(query["tz"])
    found = scheduling.slots_for_change(booking, grant, _naive(query["from_"]), _naive(query["to"]))
    return jsonify(SlotsSchema().dump(slots_payload(found, tz)))


@bp.post("/b/<token>/reschedule")
@limiter.limit("30/minute", key_func=client_ip)
def booking_reschedule(token: str):
    booking, grant = _grant(token)
    body = _load(BookSchema(), dict(request.get_json(silent=True) or {}))
    scheduling.reschedule(booking, body["start"], grant, f"booking-link:{booking.id}", body["time_zone"])
    return jsonify(BookingSchema().dump(booking))


@bp.post("/b/<token>/cancel")
@limiter.limit("30/minute", key_func=client_ip)
def booking_cancel(token: str):
    booking, grant = _grant(token)
    scheduling.cancel(booking, grant, f"booking-link:{booking.id}")
    return redirect(url_for("portal.booking_cancelled"))


@bp.get("/b/cancelled")
def booking_cancelled():
    return render_template("portal/booking_done.html")
