"""Signed reschedule / cancel links of one booking, for the participant's email. The token names the
booking and its iCalendar UID, signed with the app's secret (itsdangerous); it works until the
appointment starts (and at most LINK_DAYS after it was made). A forged, altered or expired token,
or one whose booking is cancelled, past or gone, opens nothing."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app import clock
from app.extensions import db
from app.models import Booking
from app.permissions import BookingGrant

SALT = "procly.booking-link"
LINK_DAYS = 400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(booking: Booking) -> str:
    return _serializer().dumps({"b": booking.id, "u": booking.uid})


def url_for_booking(booking: Booking) -> str:
    """The booking's page (reschedule / cancel) at the app's base URL: emails are written in requests
    and in workers alike, so the URL is built without a request."""
    return f"{(current_app.config.get('PROCLY_BASE_URL') or '').rstrip('/')}/portal/b/{token_for(booking)}"


def open_token(token: str, now: datetime | None = None) -> tuple[Booking, BookingGrant] | None:
    """The live, future booking a token names, with the grant that lets its holder change it; None
    for anything else (the reason is not told: a guess learns nothing)."""
    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:        # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("b"), int):
        return None
    booking = db.session.get(Booking, data["b"])
    if booking is None or booking.uid != data.get("u") or booking.status != "booked":
        return None
    if booking.starts_at <= (now or clock.now()):
        return None
    return booking, BookingGrant(booking.id)
