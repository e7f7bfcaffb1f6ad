"""Free appointment slots, computed by pure functions over plain data (no database, no clock).

Working hours are wall-clock times in the Stage's IANA time zone (zoneinfo), so a 09:00 slot stays
at 09:00 local time across a daylight-saving change; a local time that does not exist that day (in
the spring-forward gap) is no slot. Every datetime in and out is naive UTC, as stored."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SLOTS = 2000        # a window answers at most this many slots


@dataclass(frozen=True)
class Availability:
    time_zone: str = "UTC"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(17, 0)
    slot_minutes: int = 30
    buffer_minutes: int = 0
    horizon_days: int = 30
    notice_minutes: int = 0
    capacity: int = 1

    @classmethod
    def from_config(cls, config: dict) -> Availability:
        return cls(time_zone=config["time_zone"], days=tuple(config["working_days"]),
                   start=time.fromisoformat(config["day_start"]), end=time.fromisoformat(config["day_end"]),
                   slot_minutes=config["slot_minutes"], buffer_minutes=config["buffer_minutes"],
                   horizon_days=config["horizon_days"], notice_minutes=config["notice_minutes"],
                   capacity=config["capacity"])


@dataclass(frozen=True)
class Slot:
    start: datetime                 # naive UTC
    end: datetime
    seats_left: int = 1


def to_utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(utc: datetime, zone: str) -> datetime:
    return utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))


def _exists(local: datetime) -> bool:
    """False for a wall time in the spring-forward gap (it would come back as another time)."""
    back = to_utc(local).replace(tzinfo=timezone.utc).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def day_slots(av: Availability, day: date) -> list[tuple[datetime, datetime]]:
    """The slots of one local day, in UTC: from the day's start, one every slot + buffer minutes,
    each ending by the day's end (wall time). Empty on a day off."""
    if WEEKDAYS[day.weekday()] not in av.days or av.slot_minutes <= 0:
        return []
    zone = ZoneInfo(av.time_zone)
    step = timedelta(minutes=av.slot_minutes + av.buffer_minutes)
    length = timedelta(minutes=av.slot_minutes)
    wall, day_end = datetime.combine(day, av.start), datetime.combine(day, av.end)
    out = []
    while wall + length <= day_end:
        local = wall.replace(tzinfo=zone)
        if _exists(local):
            start = to_utc(local)
            out.append((start, start + length))
        wall += step
    return out


def window(av: Availability, now: datetime, frm: datetime | None = None,
           to: datetime | None = None) -> tuple[datetime, datetime]:
    """The bookable window [earliest, latest): after the minimum notice, before the horizon, and
    within [frm, to) when given."""
    earliest = now + timedelta(minutes=av.notice_minutes)
    latest = now + timedelta(days=av.horizon_days)
    return max(earliest, frm or earliest), min(latest, to or latest)


def candidates(av: Availability, now: datetime, frm: datetime | None = None,
               to: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Every slot starting inside the bookable window, in order (before bookings and busy times)."""
    lo, hi = window(av, now, frm, to)
    if lo >= hi:
        return []
    day, last = to_local(lo, av.time_zone).date() - timedelta(days=1), to_local(hi, av.time_zone).date()
    out = []
    while day <= last and len(out) < MAX_SLOTS:
        out.extend(s for s in day_slots(av, day) if lo <= s[0] < hi)
        day += timedelta(days=1)
    return out[:MAX_SLOTS]


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def free_slots(av: Availability, now: datetime, booked: list[tuple[datetime, datetime]],
               busy: list[tuple[datetime, datetime]] = (), frm: datetime | None = None,
               to: datetime | None = None) -> list[Slot]:
    """The slots still bookable: candidates minus those whose seats are all taken by overlapping
    live bookings, minus those overlapping a busy period (an outside calendar's)."""
    out = []
    for slot in candidates(av, now, frm, to):
        if any(overlaps(slot, b) for b in busy):
            continue
        taken = sum(1 for b in booked if overlaps(slot, b))
        if taken < av.capacity:
            out.append(Slot(slot[0], slot[1], av.capacity - taken))
    return out


def is_slot(av: Availability, start: datetime) -> bool:
    """Does a slot of this availability start at `start` (naive UTC)?"""
    day = to_local(start, av.time_zone).date()
    return any(s == start for s, _ in day_slots(av, day))
