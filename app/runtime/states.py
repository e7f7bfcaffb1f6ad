"""The Stage Run state machine: one explicit transition table over the statuses of
app.vocab.statuses (str enums, so plain strings compare equal). No ORM; every status change in the
app is checked here."""
from __future__ import annotations

from app.vocab.statuses import DONE, OPEN, TERMINAL

# any open run may be closed by a Route (moved), a cancellation, or a person skipping it
_CLOSE = ("moved", "cancelled", "skipped")

TRANSITIONS: dict[str, frozenset[str]] = {
    # ready: a person claims it, or a worker starts it
    "pending": frozenset({"started", *_CLOSE}),
    # start_when: released when it holds (to its gate, if any) or skipped when skip_when holds
    "blocked": frozenset({"pending", "gated", *_CLOSE}),
    # gate passed (approval, condition or manual advance)
    "gated": frozenset({"pending", *_CLOSE}),
    # claimed by a person / picked up by a worker; a worker may finish, fail or put it back for retry
    "started": frozenset({"in_progress", "completed", "awaiting_approval", "failed", "pending", *_CLOSE}),
    # (pending: a worker's waiting run whose look-again — a poll — failed, put back for its retry)
    "in_progress": frozenset({"paused", "waiting_on_participant", "awaiting_approval", "completed",
                              "failed", "pending", *_CLOSE}),
    "paused": frozenset({"in_progress", *_CLOSE}),
    "waiting_on_participant": frozenset({"in_progress", *_CLOSE}),
    # approved → completed; rejected → rework by a person (in_progress) or re-run by a worker (pending)
    "awaiting_approval": frozenset({"completed", "in_progress", "pending", *_CLOSE}),
    # not done and not terminal: staff may retry it, skip it or cancel it
    "failed": frozenset({"pending", "skipped", "cancelled"}),
    "completed": frozenset(),
    "skipped": frozenset(),
    "moved": frozenset(),
    "cancelled": frozenset(),
}

STATUSES = frozenset(TRANSITIONS)
__all__ = ["TRANSITIONS", "STATUSES", "OPEN", "DONE", "TERMINAL", "IllegalTransition", "can", "check"]


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, from_status: str, to_status: str):
        self.from_status, self.to_status = from_status, to_status
        if from_status not in TRANSITIONS:
            detail = f"unknown status {from_status!r}"
        elif to_status not in TRANSITIONS:
            detail = f"unknown status {to_status!r}"
        else:
            allowed = ", ".join(sorted(TRANSITIONS[from_status])) or "nothing (terminal)"
            detail = f"allowed from {from_status!r}: {allowed}"
        super().__init__(f"illegal Stage Run transition {from_status!r} -> {to_status!r}; {detail}")


def can(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, ()) and to_status in TRANSITIONS


def check(from_status: str, to_status: str) -> None:
    """Raise IllegalTransition unless from_status -> to_status is in the table."""
    if not can(from_status, to_status):
        raise IllegalTransition(from_status, to_status)
