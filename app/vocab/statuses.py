"""Every status as a `StrEnum` (stored as plain strings) and the named groups of them the app uses.
The Stage Run state machine (which move is legal) is app.runtime.states."""
from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    running = "running"
    completed = "completed"
    cancelled = "cancelled"
    rejected = "rejected"                  # ended by a Route whose end outcome is "rejected"


class StageRunStatus(StrEnum):
    pending = "pending"                    # ready, waiting for a person or a worker to start it
    blocked = "blocked"                    # start_when does not hold yet
    gated = "gated"                        # held at its gate (approval / condition / manual advance)
    started = "started"
    in_progress = "in_progress"
    paused = "paused"
    awaiting_approval = "awaiting_approval"
    waiting_on_participant = "waiting_on_participant"
    completed = "completed"
    failed = "failed"
    skipped = "skipped"
    moved = "moved"                        # closed because a Route moved the Task elsewhere
    cancelled = "cancelled"


class VisitOutcome(StrEnum):
    completed = "completed"
    moved = "moved"
    cancelled = "cancelled"
    rejected = "rejected"


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


S = StageRunStatus
# not finished: the run still holds the Task's place in its Stage
OPEN = frozenset({S.pending, S.blocked, S.gated, S.started, S.in_progress, S.paused, S.awaiting_approval,
                  S.waiting_on_participant})
# done, as successors wait for it
DONE = frozenset({S.completed, S.skipped})
# never changes again
TERMINAL = frozenset({S.completed, S.skipped, S.moved, S.cancelled})
# someone is working it now (staff time runs)
WORKING = frozenset({S.started, S.in_progress})
# what "My work" lists: open runs a person can act on (blocked ones wait for a condition)
QUEUE = tuple(s for s in S if s in OPEN and s != S.blocked)
# the builder's live counts per Stage, by bucket
LIVE = {
    "waiting": (S.pending, S.blocked, S.gated, S.paused, S.waiting_on_participant),
    "in_progress": (S.started, S.in_progress),
    "awaiting_approval": (S.awaiting_approval,),
    "failed": (S.failed,),
}
