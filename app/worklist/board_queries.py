"""What a Process's board reads: its Stages as columns (lane order of the current Version) and, per
column, the open Stage Runs of running Tasks the caller may see, as cards (a few key Fields, the
SLA, the assignee). A fixed number of queries whatever the number of Tasks: one counts every column,
one fetches the first cards of each (a row_number() window per Stage), one reads the Tasks' Fields'
definitions and one the assignees. Who sees which Stage and Field is app.permissions' decision."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, case, false, func, or_, select

from app import clock, permissions
from app.extensions import db
from app.models import Field, Process, StageRun, Task, User, Version
from app.runtime.context import definition
from app.vocab.statuses import OPEN, TaskStatus
from app.worklist.filters import show

CARD_LIMIT = 25          # cards per column on the board; the rest behind a "more" link
PAGE_SIZE = 100          # cards per page of one column's list
DUE_SOON = timedelta(hours=24)
KEY_FIELDS = 3           # Fields shown on a card (the title included)
HIDDEN_TYPES = ("file", "json")
ASSIGNEE = ("", "me", "none")
DUE = ("", "overdue", "soon")
STATUS_NAMES = {"pending": "Ready", "blocked": "Blocked", "gated": "At the gate", "started": "Started",
                "in_progress": "In progress", "paused": "Paused", "awaiting_approval": "Awaiting approval",
                "waiting_on_participant": "Waiting on the client"}


def lane(version: Version | None) -> list[dict]:
    """The Version's Stages in lane order: by column, then as listed."""
    if version is None:
        return []
    stages = version.definition["stages"]
    return sorted(stages, key=lambda s: ((s.get("column") or 0), stages.index(s)))


def current_version(process: Process) -> Version | None:
    if not process.current_version:
        return None
    return db.session.scalar(select(Version).where(Version.process_id == process.id,
                                                   Version.number == process.current_version))


def stage_keys(process: Process) -> dict[str, str]:
    """Stage key -> name, in lane order, of the Process's current Version (where cards may be dropped)."""
    return {s["key"]: s.get("name") or s["key"] for s in lane(current_version(process))}


def clean_args(args) -> dict:
    """The board's filters from a query string, unknown values dropped (never an error)."""
    out = {"q": (args.get("q") or "").strip()[:100], "assignee": args.get("assignee", ""),
           "due": args.get("due", ""), "status": args.get("status", "")}
    if out["assignee"] not in ASSIGNEE:
        out["assignee"] = ""
    if out["due"] not in DUE:
        out["due"] = ""
    if out["status"] not in STATUS_NAMES:
        out["status"] = ""
    return out


def active(filters: dict) -> dict:
    """The filters in use, for the links that keep them."""
    return {k: v for k, v in filters.items() if v}


class Scope:
    """Per visible Version of the Process: the Stage keys and the Fields `user` sees there."""

    def __init__(self, user, process: Process):
        self.user, self.process = user, process
        allowed = permissions.visible_version_ids(user)
        q = select(Version.id).where(Version.process_id == process.id)
        if allowed is not None:
            q = q.where(Version.id.in_(allowed or [-1]))
        self.stages: dict[int, list[str]] = {}
        self.reads: dict[int, set[str]] = {}
        for vid in db.session.scalars(q):
            keys = [s["key"] for s in definition(vid)["stages"]
                    if permissions.stage_visible(user, s, process.team_id)]
            if keys:
                self.stages[vid] = keys
                self.reads[vid] = permissions.version_reads(user, vid, process.team_id, process.table_id)

    def condition(self):
        if not self.stages:
            return false()
        return or_(*[and_(StageRun.version_id == vid, StageRun.stage_key.in_(keys))
                     for vid, keys in sorted(self.stages.items())])

    def search(self, text: str):
        """Tasks whose id or key is `text`, or one of whose readable Fields contains it."""
        needle = f"%{text.lower()}%"
        terms = [func.lower(Task.key).like(needle)]
        if text.lstrip("#").isdigit() and len(text) < 12:
            terms.append(Task.id == int(text.lstrip("#")))
        for vid, keys in sorted(self.reads.items()):
            if keys:
                terms.append(and_(Task.version_id == vid,
                                  or_(*[func.lower(Task.values[k].as_string()).like(needle) for k in sorted(keys)])))
        return or_(*terms)


def _runs(scope: Scope, filters: dict):
    now = clock.now()
    q = (select(StageRun.id).join(Task, Task.id == StageRun.task_id)
         .where(StageRun.process_id == scope.process.id, StageRun.status.in_(sorted(OPEN)),
                Task.status == TaskStatus.running, scope.condition()))
    if filters["assignee"] == "me":
        q = q.where(StageRun.claimed_by_id == scope.user.id)
    elif filters["assignee"] == "none":
        q = q.where(StageRun.claimed_by_id.is_(None))
    if filters["due"] == "overdue":
        q = q.where(StageRun.due_at < now)
    elif filters["due"] == "soon":
        q = q.where(StageRun.due_at < now + DUE_SOON)
    if filters["status"]:
        q = q.where(StageRun.status == filters["status"])
    if filters["q"]:
        q = q.where(scope.search(filters["q"]))
    return q


ORDER = (case((StageRun.due_at.is_(None), 1), else_=0), StageRun.due_at, StageRun.ready_at, StageRun.id)


def board(user, process: Process, args) -> dict:
    """The board of `process` for `user`: columns with their total count and first CARD_LIMIT cards."""
    filters = clean_args(args)
    version = current_version(process)
    scope = Scope(user, process)
    visible = {k for keys in scope.stages.values() for k in keys}
    columns = [{"key": s["key"], "name": s.get("name") or s["key"], "gate": (s.get("gate") or {}).get("type"),
                "count": 0, "cards": []} for s in lane(version) if s["key"] in visible]
    by_key = {c["key"]: c for c in columns}
    base = _runs(scope, filters)
    counts = db.session.execute(select(StageRun.stage_key, func.count()).where(StageRun.id.in_(base))
                                .group_by(StageRun.stage_key)).all()
    other = {"key": "", "name": "Stages of earlier Versions", "gate": None, "count": 0, "cards": []}
    for key, n in counts:
        by_key.get(key, other)["count"] += n
    rank = func.row_number().over(partition_by=StageRun.stage_key, order_by=ORDER).label("rank")
    ranked = select(StageRun.id, rank).where(StageRun.id.in_(base)).subquery()
    rows = db.session.execute(select(StageRun, Task).join(ranked, ranked.c.id == StageRun.id)
                              .join(Task, Task.id == StageRun.task_id)
                              .where(ranked.c.rank <= CARD_LIMIT).order_by(ranked.c.rank)).all()
    for card in cards(scope, rows):
        by_key.get(card["run"].stage_key, other)["cards"].append(card)
    if other["count"]:
        columns.append(other)
    return {"process": process, "version": version, "columns": columns, "filters": filters, "query": active(filters),
            "total": sum(c["count"] for c in columns), "limit": CARD_LIMIT,
            "statuses": STATUS_NAMES, "stage_names": {c["key"]: c["name"] for c in columns if c["key"]}}


def column(user, process: Process, stage_key: str, args, page: int) -> dict:
    """One column's cards, PAGE_SIZE a page (the board's "more" link)."""
    filters = clean_args(args)
    scope = Scope(user, process)
    version = current_version(process)
    names = {s["key"]: s.get("name") or s["key"] for s in lane(version)}
    base = _runs(scope, filters).where(StageRun.stage_key == stage_key)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(select(StageRun, Task).join(Task, Task.id == StageRun.task_id)
                              .where(StageRun.id.in_(base)).order_by(*ORDER)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return {"process": process, "stage": {"key": stage_key, "name": names.get(stage_key, stage_key)},
            "cards": cards(scope, rows), "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters, "query": active(filters), "statuses": STATUS_NAMES}


def cards(scope: Scope, rows) -> list[dict]:
    """Cards of (StageRun, Task) rows: title, key Fields the caller reads, SLA, assignee."""
    if not rows:
        return []
    fields = db.session.scalars(select(Field).where(Field.table_id == scope.process.table_id,
                                                    Field.type.notin_(HIDDEN_TYPES))
                                .order_by(Field.position)).all()
    claimed = {r.claimed_by_id for r, _ in rows if r.claimed_by_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(claimed))).all()) if claimed else {}
    now = clock.now()
    out = []
    for run, task in rows:
        reads = scope.reads.get(task.version_id, set())
        values = task.values or {}
        shown = [f for f in fields if f.key in reads and f.key != "name" and values.get(f.key) not in (None, "")]
        title = str(values["name"]) if "name" in reads and values.get("name") else f"Task {task.id}"
        out.append({"run": run, "task": task, "title": title, "status": STATUS_NAMES.get(run.status, run.status),
                    "fields": [(f.name, plain(values[f.key], f.type)) for f in shown[:KEY_FIELDS - 1]],
                    "sla": sla(run.due_at, now), "assignee": names.get(run.claimed_by_id)})
    return out


def plain(value, field_type: str) -> str:
    if field_type == "choice" and isinstance(value, str):
        return value.replace("_", " ")
    return str(show(value))


def sla(due, now) -> dict | None:
    """The card's SLA badge: overdue, due within a day, or just the due time."""
    if due is None:
        return None
    text = due.strftime("%Y-%m-%d %H:%M")
    if due < now:
        return {"kind": "overdue", "label": "Overdue", "title": f"Was due {text}"}
    if due < now + DUE_SOON:
        return {"kind": "soon", "label": "Due soon", "title": f"Due {text}"}
    return {"kind": "later", "label": f"Due {due.strftime('%d %b')}", "title": f"Due {text}"}
