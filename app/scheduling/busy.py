"""Busy times from an outside calendar over CalDAV (the `caldav` library): every event in the
window that is not transparent or cancelled blocks the slots it overlaps. The address is one users
typed, so it passes the egress rules first (no private or local addresses unless the install allows
them); the password comes from the app's config by name (CALDAV_CREDENTIALS), never from the
definition. A calendar that cannot be read answers `BusyUnavailable`: no slot is offered rather than
one that may already be taken."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from urllib.parse import urlsplit

import caldav
from flask import current_app

from app.infra import egress


class BusyUnavailable(RuntimeError):
    """The calendar could not be read (unreachable, refused, not a calendar)."""


def _naive_utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise ValueError(f"not a date: {value!r}")


def credentials(name: str) -> dict:
    """{"username", "password"} configured under CALDAV_CREDENTIALS[name] ({} without a name)."""
    if not name:
        return {}
    found = (current_app.config.get("CALDAV_CREDENTIALS") or {}).get(name)
    if found is None:
        raise BusyUnavailable(f'no calendar credentials named "{name}" are configured')
    return found


def check_address(url: str) -> None:
    host = urlsplit(url).hostname or ""
    problem = egress.literal_problem(host)
    if problem:
        raise BusyUnavailable(f"the calendar address is refused: {problem}")
    if not egress.private_allowed():
        port = urlsplit(url).port or (443 if url.startswith("https") else 80)
        try:
            egress.resolve(host, port)
        except egress.BlockedDestination as exc:
            raise BusyUnavailable(f"the calendar address is refused: {exc}") from None


def busy_periods(url: str, credentials_name: str, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Busy (start, end) pairs in naive UTC of the calendar at `url` within [lo, hi)."""
    check_address(url)
    creds = credentials(credentials_name)
    try:
        with caldav.DAVClient(url=url, username=creds.get("username"), password=creds.get("password"),
                              timeout=10) as client:
            calendar = client.calendar(url=url)
            found = calendar.search(start=lo.replace(tzinfo=timezone.utc), end=hi.replace(tzinfo=timezone.utc),
                                    event=True, expand=True)
            out = []
            for obj in found:
                for comp in obj.icalendar_instance.walk("VEVENT"):
                    if str(comp.get("TRANSP", "")).upper() == "TRANSPARENT" or \
                            str(comp.get("STATUS", "")).upper() == "CANCELLED":
                        continue
                    start = _naive_utc(comp.decoded("DTSTART"))
                    end = _naive_utc(comp.decoded("DTEND")) if comp.get("DTEND") else \
                        start + comp.decoded("DURATION") if comp.get("DURATION") else start
                    out.append((start, end))
            return sorted(out)
    except BusyUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any network / protocol error: the calendar is unavailable
        raise BusyUnavailable(f"the calendar could not be read: {type(exc).__name__}") from exc
