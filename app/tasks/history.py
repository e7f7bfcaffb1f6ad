"""A Task's Events as one caller may see them, each told as a plain sentence: the Task page's
activity and `GET /api/v1/tasks/<id>/events`.

What a caller sees of the history is what they see of the Task: Events of Stage Runs they may not
see are left out, and Field names and old values of Fields they may not read are removed (an Event
that changed only such Fields is left out)."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import select

from app import permissions
from app.extensions import db
from app.models import ApiToken, Event, Field, Participant, Process, Task, TaskVisit, User
from app.runtime.context import definition

PAGE_MAX = 200
STATUS = {   # a Stage Run's new status -> what happened, said of the Stage
    "pending": "is ready to be worked", "blocked": "waits for its start condition",
    "gated": "waits at its gate", "started": "was started", "in_progress": "is being worked",
    "paused": "was paused", "awaiting_approval": "awaits approval",
    "waiting_on_participant": "waits for the participant", "completed": "was completed",
    "failed": "failed", "skipped": "was skipped", "moved": "was closed as the Task moved on",
    "cancelled": "was cancelled",
}


@dataclass
class Names:
    """Display names for the keys and actor strings an Event holds, loaded once per Task."""
    task: Task
    processes: dict[int, Process] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, task: Task) -> "Names":
        names = cls(task, {p.id: p for p in db.session.scalars(select(Process))})
        versions = set(db.session.scalars(select(TaskVisit.version_id).where(TaskVisit.task_id == task.id)))
        for version_id in versions | {task.version_id}:
            doc = definition(version_id)
            names.stages.update({s["key"]: s["name"] for s in doc["stages"]})
            names.routes.update({r["key"]: r["name"] for r in doc["routes"]})
        names.fields = dict(db.session.execute(select(Field.key, Field.name).where(Field.table_id == task.table_id)).all())
        return names

    def process(self, key: str | None) -> str:
        found = next((p for p in self.processes.values() if p.key == key), None)
        return found.name if found else (key or "another Process")

    def stage(self, key: str | None) -> str:
        return self.stages.get(key, key or "a Stage")

    def actor(self, actor: str) -> str:
        if actor not in self.users:
            self.users[actor] = _actor_name(actor)
        return self.users[actor]


def _actor_name(actor: str) -> str:
    kind, _, ident = (actor or "system").partition(":")
    if not ident.isdigit():
        return "Procly"
    if kind == "user":
        user = db.session.get(User, int(ident))
        return user.name if user else "a former user"
    if kind == "token":
        token = db.session.get(ApiToken, int(ident))
        user = db.session.get(User, token.user_id) if token else None
        return f"{user.name} (API)" if user else "an API client"
    if kind == "participant":
        participant = db.session.get(Participant, int(ident))
        return f"the participant {participant.name or participant.email}" if participant else "the participant"
    return "Procly"


def _quote(text) -> str:
    return f": “{text}”" if text else ""


def sentence(e, names: Names) -> str:
    """One Event (its type, actor, to_status and data) as a sentence a person reads on the Task page."""
    d, who = e.data or {}, names.actor(e.actor)
    by = "" if who == "Procly" else f" by {who}"
    stage = names.stage(d.get("stage"))
    match e.type:
        case "task.created":
            return f"Task started{by}"
        case "task.entered":
            where = f" at {names.stage(d['stage'])}" if d.get("stage") else ""
            return f"Entered {names.process(d.get('process'))} (version {d.get('version')}){where}"
        case "task.moved" if d.get("route"):
            return f"Moved to {names.process(d.get('to_process'))} by Route “{names.routes.get(d['route'], d['route'])}”"
        case "task.moved":
            reason = str(d.get("reason") or "").removeprefix("manual: ")
            return f"Moved to {names.process(d.get('to_process'))}{by}{_quote(reason)}"
        case "task.migrated":
            return f"Migrated to version {d.get('to_version', '?')}{by}"
        case "task.completed" | "task.cancelled" | "task.rejected" if d.get("route"):
            outcome = e.type.split(".")[1]
            return f"Ended as {outcome} by Route “{names.routes.get(d['route'], d['route'])}”{_quote(d.get('label'))}"
        case "task.completed":
            return "Task completed"
        case "task.cancelled":
            return f"Task cancelled{by}{_quote(d.get('reason'))}"
        case "task.sent_back":
            n = int(d.get("iteration") or 1)
            again = f" (for the {n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'} time)" if n > 1 else ""
            if not d.get("route"):
                return f"Sent back to {names.stage(d.get('to_stage'))} {d.get('reason') or ''}".rstrip()
            return f"Sent back to {names.stage(d.get('to_stage'))} by Route “{names.routes.get(d.get('route'), d.get('route'))}”{again}"
        case "task.signalled":
            return f"Signal “{d.get('signal')}” arrived{by}{' (kept since it came early)' if d.get('kept') else ''}: {stage} done"
        case "signal.kept":
            return f"Signal “{d.get('signal')}” arrived early{by}; kept for {stage}"
        case "signal.dropped":
            return f"Signal “{d.get('signal')}” arrived before {stage} was ready{by}, and was dropped"
        case "stage.timed_out":
            return f"{stage} ran out of time ({d.get('label', '')})"
        case "task.values_changed":
            changed = ", ".join(names.fields.get(k, k) for k in d.get("fields", []))
            return f"{who if by else 'Procly'} changed {changed}"
        case "task.attention_cleared":
            return f"No longer needs attention: {d.get('reason', '')}"
        case "task.needs_attention":
            return f"Needs attention: {d.get('reason', '')}"
        case "stage.status":
            what = STATUS.get(e.to_status or "", f"is now {e.to_status}")
            if e.to_status in ("failed",) and d.get("error"):
                return f"{stage} {what}: {d['error']}"
            if e.to_status == "pending" and d.get("attempt"):
                return f"{stage} will be tried again (attempt {d['attempt']})"
            return f"{stage} {what}{by if e.to_status in ('started', 'completed', 'skipped', 'cancelled') else ''}" \
                   f"{_quote(d.get('reason')) if e.to_status in ('skipped', 'cancelled') else ''}"
        case "stage.assigned":
            user = names.actor(f"user:{d.get('user')}")
            return f"{stage} assigned to {user} ({d.get('how', '')})"
        case "stage.claimed":
            return f"{stage} taken{by}"
        case "stage.released":
            why = " because the person who had it was deactivated" if d.get("reason") == "deactivated" else ""
            return f"{stage} released{by}{why}"
        case "approval.approved" | "approval.rejected":
            verb = "approved" if e.type.endswith("approved") else "sent back"
            return f"{stage} {verb}{by}{_quote(d.get('comment'))}"
        case "proposal.made":
            return f"The AI proposed values for {stage}; they wait for an approver"
        case "proposal.accepted":
            edited = ", ".join(names.fields.get(k, k) for k in d.get("edited", []))
            return f"The AI's proposal for {stage} was accepted{by}" + (f", with changes to {edited}" if edited else "")
        case "proposal.rejected":
            return f"The AI's proposal for {stage} was rejected{by}; nothing of it was written"
        case "stage.escalated" | "sla.escalated":
            return f"{stage} escalated: {d.get('reason') or d.get('label') or 'overdue'}"
        case "sla.reminder":
            return f"Reminder sent: {stage} is due soon ({d.get('label', '')})"
        case "sla.breached":
            return f"{stage} is overdue"
        case "condition.failed":
            return f"A condition of {stage} could not be evaluated ({d.get('reason', '')})"
        case "checklist.ticked" | "checklist.unticked":
            verb = "ticked" if e.type.endswith(".ticked") else "unticked"
            return f"{who} {verb} “{d.get('text', '')}” on {stage}"
        case "comment.added":
            return f"{who} commented on {stage}"
        case "portal.invited":
            return f"Participant {d.get('email', '')} invited{by}"
        case "portal.link_used":
            return "The participant opened their link"
        case "portal.link_revoked":
            return f"A participant's link was revoked{by}"
        case _:
            return f"{e.type.replace('.', ': ').replace('_', ' ').capitalize()}{by}"


def _visible(e: Event, run_ids: set[int], readable: set[str] | None) -> dict | None:
    """The Event's data as the caller may see it, or None when they may not see the Event."""
    if e.stage_run_id is not None and e.stage_run_id not in run_ids:
        return None
    data = dict(e.data or {})
    if e.type == "task.values_changed" and readable is not None:
        data["fields"] = [k for k in data.get("fields", []) if k in readable]
        if not data["fields"]:
            return None
        if isinstance(data.get("old"), dict):
            data["old"] = {k: v for k, v in data["old"].items() if k in readable}
    return data


def events_of(who, task: Task, *, types: list[str] | None = None, before: int | None = None,
              limit: int = 50) -> tuple[list[dict], int | None]:
    """A page of the Task's Events `who` may see, newest first: (items, the `before` of the next page)."""
    permissions.check(who, "task.view", task)
    run_ids = {r.id for r in permissions.visible_runs(who, task)}
    readable = permissions.visible_fields(who, task)
    names = Names.of(task)
    q = select(Event).where(Event.task_id == task.id).order_by(Event.id.desc())
    if types:
        q = q.where(Event.type.in_(types))
    items, cursor = [], before
    limit = max(1, min(limit, PAGE_MAX))
    while len(items) < limit:
        batch = db.session.scalars((q.where(Event.id < cursor) if cursor else q).limit(limit * 2)).all()
        if not batch:
            return items, None
        for e in batch:
            cursor = e.id
            data = _visible(e, run_ids, readable)
            if data is None:
                continue
            shown = SimpleNamespace(type=e.type, actor=e.actor, to_status=e.to_status, data=data)
            items.append({"id": e.id, "type": e.type, "at": e.created_at, "actor": names.actor(e.actor),
                          "stage": data.get("stage"), "stage_run": e.stage_run_id, "from_status": e.from_status,
                          "to_status": e.to_status, "text": sentence(shown, names), "data": data})
            if len(items) == limit:
                return items, e.id
    return items, cursor
