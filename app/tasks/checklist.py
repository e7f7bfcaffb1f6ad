"""A Stage's checklist on the staff Task page: the items of its config (`checklist`), ticked and
unticked by whoever may complete the Stage Run. Every tick is an Event (`checklist.ticked` /
`checklist.unticked`, with the item's position and text), so the Events are the record: which items
are ticked now is read back from them."""
from __future__ import annotations

from sqlalchemy import select

from app import clock, permissions
from app.errors import Invalid
from app.extensions import db
from app.infra.queue import publish_after_commit, record_event
from app.models import Event, StageRun, User
from app.vocab.statuses import OPEN

TYPES = ("checklist.ticked", "checklist.unticked")


def items_of(stage: dict) -> list[str]:
    return [str(i) for i in ((stage.get("config") or {}).get("checklist") or []) if str(i).strip()]


def ticked(run: StageRun) -> set[int]:
    """The positions ticked now: the Events replayed in order."""
    done: set[int] = set()
    for type_, data in db.session.execute(select(Event.type, Event.data).where(
            Event.stage_run_id == run.id, Event.type.in_(TYPES)).order_by(Event.id)):
        item = (data or {}).get("item")
        if isinstance(item, int):
            (done.add if type_ == "checklist.ticked" else done.discard)(item)
    return done


def require_ticked(run: StageRun, stage: dict) -> None:
    """A person completing the run of a Stage whose checklist is required: every item ticked first
    (422 naming the items left)."""
    items = items_of(stage)
    if not items or not (stage.get("config") or {}).get("checklist_required"):
        return
    done = ticked(run)
    left = [item for i, item in enumerate(items) if i not in done]
    if left:
        raise Invalid(f"Tick every checklist item before completing this step: {', '.join(left)} "
                      f"{'is' if len(left) == 1 else 'are'} not done.", {"checklist": left})


def set_ticks(run: StageRun, wanted: set[int], user: User, actor: str) -> list[int]:
    """Tick exactly the items at positions `wanted` (an Event per change); returns the changed ones."""
    permissions.check(user, "run.complete", run)
    if run.status not in OPEN:
        raise Invalid("This step is no longer open; its checklist cannot change.", {"run": [run.status]},
                      status=409, code="conflict")
    stage = permissions.stage_for(run)
    items = items_of(stage)
    if any(i < 0 or i >= len(items) for i in wanted):
        raise Invalid("No such checklist item.", {"item": ["not an item of this Stage's checklist"]})
    now, changed = ticked(run), []
    for i in sorted(wanted ^ now):
        record_event({"type": "checklist.ticked" if i in wanted else "checklist.unticked", "task_id": run.task_id,
                      "stage_run_id": run.id, "process_id": run.process_id, "actor": actor, "from_status": None,
                      "to_status": None, "data": {"stage": stage["key"], "item": i, "text": items[i]},
                      "created_at": clock.now()})
        changed.append(i)
    if changed:
        publish_after_commit("task.changed", {"task": run.task_id}, f"task:{run.task_id}")
    return changed
