"""Pure SLA timers: when a run is due, when to remind, when to escalate.

Times are passed in (never read from the clock) so the scheduler can compute and
replay them deterministically; every offset is measured from the run's start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Literal

from app.vocab.durations import seconds as duration_seconds

TimerKind = Literal["due", "reminder", "escalation"]
_ORDER = {"reminder": 0, "escalation": 1, "due": 2}  # at one instant: remind, escalate, then breach


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    at: datetime
    label: str  # the duration it came from ("24h"); (kind, label) identifies a timer once fired


def timers_for(sla: dict | None, start: datetime) -> list[Timer]:
    """Timers of an SLA such as {"due": "48h", "reminders": ["24h", "72h"], "escalate_after": "2h"}."""
    if not sla:
        return []

    def at(duration: str) -> datetime:
        return start + timedelta(seconds=duration_seconds(duration))

    timers = [Timer("reminder", at(r), r) for r in dict.fromkeys(sla.get("reminders") or ())]
    if sla.get("escalate_after"):
        timers.append(Timer("escalation", at(sla["escalate_after"]), sla["escalate_after"]))
    if sla.get("due"):
        timers.append(Timer("due", at(sla["due"]), sla["due"]))
    return sorted(timers, key=lambda t: (t.at, _ORDER[t.kind]))


def due_timers(timers: Iterable[Timer], fired: set[tuple[str, str]], now: datetime) -> list[Timer]:
    """Timers whose time has come (at or before now) and that have not fired yet."""
    return [t for t in timers if t.at <= now and (t.kind, t.label) not in fired]
