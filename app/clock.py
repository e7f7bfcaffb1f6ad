"""The one clock Procly reads time from; tests move it with `set_clock`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc).replace(tzinfo=None)


def now() -> datetime:
    """Current UTC time as a naive datetime (stored naive-UTC in every database)."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    global _now
    _now = fn or (lambda: datetime.now(timezone.utc).replace(tzinfo=None))


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) timestamp as RFC 3339 with its offset, for payloads not dumped by a schema."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


class FrozenClock:
    """A clock tests can move: `clock.advance(hours=2)`."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kw) -> datetime:
        self.current += timedelta(**kw)
        return self.current
