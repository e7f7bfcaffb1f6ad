"""What the staff work surfaces read: "My work", the Task page, the Table view, notifications and the
alert-rule page. Reads only; who sees what is decided by app.permissions."""
from __future__ import annotations

from sqlalchemy import and_, case, false, func, null, select, true

from app import clock, permissions, stages
from app.ai import queries as ai_queries
from app.extensions import db
from app.models import Field, Process, StageRun, Table, Task, TaskVisit, User, Version
from app.models.notifications import Notification
from app.models.portal import MagicLink
from app.vocab import statuses
from app.notifications import threads
from app.scheduling import operations as scheduling
from app.tasks import checklist, history
from app.worklist import field_sql
from app.vocab.statuses import OPEN, StageRunStatus, TaskStatus

QUEUE_STATUSES = list(statuses.QUEUE)
# what a person may do to a run, by its status (app.permissions then filters by role)
ACTIONS = {
    "pending": ["complete", "pause"], "started": ["complete", "pause"], "in_progress": ["complete", "pause"],
    "paused": ["resume"], "awaiting_approval": ["approve", "reject"], "gated": ["advance"],
    "failed": ["retry"], "waiting_on_participant": ["complete"],
}


WORK_PAGE = 100       # rows of My work on one page (the counts badges count them all)


def _queue(user, process: str, stage: str, status: str, *columns):
    """`columns` of `user`'s queue with the page's filters: who matches is decided in SQL
    (permissions.queue_condition)."""
    q = (select(*columns).select_from(StageRun).join(Task, Task.id == StageRun.task_id)
         .join(TaskVisit, TaskVisit.id == StageRun.visit_id)
         .where(StageRun.finished_at.is_(None), StageRun.status.in_(QUEUE_STATUSES), Task.status == TaskStatus.running,
                TaskVisit.left_at.is_(None), permissions.queue_condition(user)))
    if process:
        q = q.join(Process, Process.id == StageRun.process_id).where(Process.key == process)
    if stage:
        q = q.where(StageRun.stage_key == stage)
    if status:
        q = q.where(StageRun.status == status)
    return q


def _overdue(now):
    return case((StageRun.due_at < now, 1), else_=0)


def my_work_counts(user, *, process: str = "", stage: str = "", status: str = "") -> tuple[int, int]:
    """(open, overdue) of `user`'s queue, counted in SQL."""
    total, overdue = db.session.execute(_queue(user, process, stage, status, func.count(),
                                               func.coalesce(func.sum(_overdue(clock.now())), 0))).one()
    return int(total), int(overdue)


def _ordered(user, filters: dict, *extra):
    """The queue's runs and Tasks, overdue first, then by due date (a run is overdue when its due date
    is past, so "due date, none last" is that order)."""
    return (_queue(user, filters.get("process", ""), filters.get("stage", ""), filters.get("status", ""),
                   StageRun, Task, *extra)
            .order_by(StageRun.due_at.is_(None), StageRun.due_at, StageRun.ready_at, StageRun.id))


def my_work(user, *, process: str = "", stage: str = "", status: str = "") -> list[dict]:
    """Open Stage Runs of running Tasks waiting for `user`, overdue first, then by due date."""
    return _items(user, db.session.execute(_ordered(user, dict(process=process, stage=stage, status=status))).all())


def _items(user, rows) -> list[dict]:
    """My work's rows of (StageRun, Task, ...): Python only labels why."""
    now = clock.now()
    items = []
    processes = {p.id: p for p in db.session.scalars(select(Process))}
    readable: dict[tuple[int, int], set[str]] = {}     # what `user` reads depends on (Process, Version) only
    for run, task, *_ in rows:
        why = permissions.queue_roles(user, run)
        if not why:  # cannot happen (the SQL condition is the same rule); never show an unexplained row
            continue
        st = permissions.stage_for(run)
        keys = readable.get((task.process_id, task.version_id))
        if keys is None:
            keys = readable[(task.process_id, task.version_id)] = permissions.visible_fields(user, task)
        items.append({"run": run, "task": task, "stage": st, "process": processes[run.process_id], "why": why,
                      "overdue": bool(run.due_at and run.due_at < now),
                      "title": title(user, task, keys)})
    return items


def my_work_page(user, filters: dict, page: int) -> dict:
    """One page of My work (WORK_PAGE rows, ordered and cut in SQL; a page past the end shows the
    last) and its pager. The counts of the whole queue come with the rows (window functions): the
    queue's selection runs once."""
    q = _ordered(user, filters, func.count().over(), func.sum(_overdue(clock.now())).over())
    page = max(page, 1)
    rows = db.session.execute(q.offset((page - 1) * WORK_PAGE).limit(WORK_PAGE)).all()
    if rows:
        total, overdue = int(rows[0][2]), int(rows[0][3])
    else:
        total, overdue = my_work_counts(user, **filters)
        if total and page > 1:     # past the end: the last page
            page = -(-total // WORK_PAGE)
            rows = db.session.execute(q.offset((page - 1) * WORK_PAGE).limit(WORK_PAGE)).all()
    pages = max(1, -(-total // WORK_PAGE))
    page = min(page, pages)
    return {"items": _items(user, rows), "pager": {"page": page, "pages": pages, "total": total, "overdue": overdue,
                                                   "first": (page - 1) * WORK_PAGE + 1 if total else 0,
                                                   "last": min(total, page * WORK_PAGE)}}


def title(user, task: Task, keys: set[str] | None = None) -> str:
    keys = permissions.visible_fields(user, task) if keys is None else keys
    vals = task.values or {}
    return str(vals["name"]) if "name" in keys and vals.get("name") else f"Task {task.id}"


def index_choices(user) -> dict:
    """The filters of the My work page; Stages by name (the value is the key the filter matches)."""
    processes = db.session.scalars(select(Process).where(Process.archived_at.is_(None)).order_by(Process.name)).all()
    current = db.session.scalars(select(Version).join(Process, Process.id == Version.process_id)
                                 .where(Version.number == Process.current_version)).all()
    stage_names: dict[str, str] = {}
    for version in current:
        for s in version.definition["stages"]:
            stage_names.setdefault(s["key"], s.get("name") or s["key"])
    return {"visible_versions": permissions.visible_version_ids(user), "processes": processes,
            "stages": sorted(stage_names.items(), key=lambda kv: kv[1].lower()),
            "tables": db.session.scalars(select(Table).order_by(Table.name)).all(),
            "statuses": QUEUE_STATUSES,
            "startable": any(p.current_version and permissions.allowed(user, "process.start", p)
                             for p in db.session.scalars(select(Process).where(Process.archived_at.is_(None))))}


def actions_for(run: StageRun) -> list[str]:
    return ACTIONS.get(run.status, [])


def task_page(user, task: Task) -> dict:
    """Everything the Task page shows `user`: permitted Fields, visits, the runs of Stages they see
    (each with its stage type, actions, thread, writable Fields), Events, participant links."""
    readable = permissions.visible_fields(user, task)
    writable = permissions.task_writable_fields(user, task)
    fields = db.session.scalars(select(Field).where(Field.table_id == task.table_id).order_by(Field.position)).all()
    processes = {p.id: p for p in db.session.scalars(select(Process))}
    visits = db.session.scalars(select(TaskVisit).where(TaskVisit.task_id == task.id).order_by(TaskVisit.id)).all()
    runs = permissions.visible_runs(user, task)
    open_ids = {r.id for r in permissions.current_runs(task)}
    run_info = []
    for run in runs:
        stage = permissions.stage_for(run)
        acts = [a for a in actions_for(run) if permissions.can_act(user, run, a)] if run.id in open_ids else []
        ending = run.id in open_ids and (run.status in OPEN or run.status == StageRunStatus.failed)
        withdraw = [a for a in ("skip", "cancel") if ending and permissions.can_act(user, run, a)]
        items = checklist.items_of(stage)
        run_info.append({"run": run, "stage": stage, "actions": acts, "withdraw": withdraw, "open": ending,
                         "checklist": items, "ticked": checklist.ticked(run) if items else set(),
                         "can_tick": bool(items) and run.status in OPEN and permissions.can_act(user, run, "complete"),
                         "comments": threads.comments_of(run),
                         "type": stages.get(stage["type"]) or stages.get("basic"),
                         "writes": permissions.writable_fields(user, run) if run.id in open_ids else set(),
                         "claimer": db.session.get(User, run.claimed_by_id) if run.claimed_by_id else None,
                         "booking": scheduling.changeable_booking(run, user) if stage["type"] == "calendar_schedule" else None,
                         "ai": ai_queries.visible_record(user, run) if stage["type"] == "ai_prompt" else None})
    run_info.sort(key=lambda r: (not r["open"], not r["actions"]))   # the Stages to act on first
    events, more = history.events_of(user, task, limit=60)
    links = db.session.scalars(select(MagicLink).where(MagicLink.task_id == task.id).order_by(MagicLink.id)).all()
    return dict(task=task, fields=fields, readable=readable, writable=writable, values=task.values or {},
                visits=visits, processes=processes, runs=run_info, events=events, links=links,
                more_events=more, now=clock.now(),
                can_move=task.status == TaskStatus.running and permissions.allowed(user, "task.move", task),
                can_cancel=task.status == TaskStatus.running and permissions.allowed(user, "task.cancel", task),
                can_invite=task.status == TaskStatus.running)


def display(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list) and all(isinstance(x, dict) and "name" in x for x in v):   # a file Field's references
        return "; ".join(str(x["name"]) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def cell(v):
    """A CSV cell: numbers as numbers, everything else as displayed (app.exports neutralises formulas)."""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else display(v)


TABLE_LIMIT = 5000     # the newest Tasks the Table view filters and sorts (see docs/performance.md)
PAGE_SIZE = 100        # rows of them on one page (the CSV export has them all)


def table_readable(user, tbl: Table, processes: dict, versions: set[int] | None) -> dict[int, set[str]]:
    """Version id -> the Field keys `user` reads on a Task of it, for the Versions of the Table's
    Processes they may see (`versions`, None = all): what a user reads on a Task depends on its
    Version (and the Process's Team) only (permissions.visible_fields)."""
    pairs = db.session.execute(select(Version.id, Version.process_id).join(Process, Process.id == Version.process_id)
                               .where(Process.table_id == tbl.id)).all()
    return {vid: permissions.version_reads(user, vid, processes[pid].team_id, tbl.id)
            for vid, pid in pairs if versions is None or vid in versions}


def _readable_in(readable: dict[int, set[str]], key: str, expr, version_id):
    """`expr` on the Tasks whose Version (column `version_id`) lets the user read `key`, NULL on the
    others: a filter or a sort never looks at a value the user may not read (it counts as no value,
    as on the page)."""
    vids = sorted(vid for vid, keys in readable.items() if key in keys)
    return case((version_id.in_(vids), expr), else_=null()) if vids else null()


def table_view(user, tbl: Table, args, *, paged: bool = True) -> dict:
    """The Table view: rows of Tasks `user` may see, only their readable values, filtered (the shown
    text contains the filter, any case) and sorted (number Fields as numbers) in SQL among the newest
    TABLE_LIMIT Tasks; one page of them (`page`, PAGE_SIZE rows) unless paged=False (the CSV export)."""
    dialect = db.session.get_bind().dialect.name
    processes = {p.id: p for p in db.session.scalars(select(Process))}   # held: team_of hits the identity map
    fields = db.session.scalars(select(Field).where(Field.table_id == tbl.id).order_by(Field.position)).all()
    versions = permissions.visible_version_ids(user)
    readable = table_readable(user, tbl, processes, versions)
    where = [Task.table_id == tbl.id]
    if versions is not None:
        where.append(Task.version_id.in_(sorted(versions) or [-1]))
    status = args.get("status", "")
    if status:
        where.append(Task.status == status)
    # the newest Tasks, with what the page shows of them: filtered, sorted, counted and paged below
    newest = (select(Task.id, Task.process_id, Task.version_id, Task.status, Task.needs_attention, Task.values)
              .where(*where).order_by(Task.id.desc()).limit(TABLE_LIMIT).subquery())
    t = newest.c
    # the columns: the Fields readable on one of these Tasks at least
    present = dict(db.session.execute(select(t.version_id, func.count()).group_by(t.version_id)).all())
    readable_any = set().union(*(readable.get(vid, set()) for vid in present))
    columns = [f for f in fields if f.key in readable_any]
    types = {f.key: f.type for f in columns}
    filters = {f.key: args.get(f"f_{f.key}", "").strip() for f in columns if args.get(f"f_{f.key}", "").strip()}
    conds = [func.coalesce(_readable_in(readable, k, field_sql.contains(
        field_sql.text(k, types[k], dialect, t["values"]), v), t.version_id), false()) for k, v in filters.items()]
    matched = and_(*conds) if conds else true()
    sort = args.get("sort", "")
    sort = sort if sort in types else ""
    order = [t.id.desc()]
    if sort:
        expr = (field_sql.number(sort, dialect, t["values"]) if types[sort] == "number"
                else func.lower(field_sql.text(sort, types[sort], dialect, t["values"])))
        key = _readable_in(readable, sort, expr, t.version_id)
        order = ([key.is_(None).desc(), key.desc()] if args.get("dir") == "desc" else [key.is_(None), key]) + order
    page = args.get("page") or "1"
    page = max(int(page) if page.isdigit() and len(page) < 7 else 1, 1) if paged else 1
    # the page's rows, with how many match (a window count: the filter runs once)
    q = select(*newest.c, func.count().over().label("matched")).where(matched).order_by(*order)
    found = db.session.execute(q.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE) if paged else q).all()
    if found or page == 1:
        total = found[0].matched if found else 0
    else:       # past the end: the last page
        total = db.session.scalar(select(func.count()).select_from(newest).where(matched))
        page = max(1, -(-total // PAGE_SIZE))
        found = db.session.execute(q.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all() if total else []
    pages = max(1, -(-total // PAGE_SIZE))
    rows = [{"task": t, "values": permissions.filter_values(t.values, readable.get(t.version_id, set()))}
            for t in found]
    # the bulk actions: checked on the shown rows only, on the Tasks themselves
    running_ids = [r["task"].id for r in rows if r["task"].status == TaskStatus.running]
    running = db.session.scalars(select(Task).where(Task.id.in_(running_ids))).all() if running_ids else []
    cancellable = {t.id for t in running if permissions.allowed(user, "task.cancel", t)}
    retryable = {t.id for t in running if t.needs_attention and failed_runs_of(user, t)}
    return dict(table=tbl, columns=columns, rows=rows, processes=processes, sort=sort, dir=args.get("dir", ""),
                filters=filters, status=status, cancellable=cancellable, retryable=retryable,
                selectable=cancellable | retryable,
                pager={"page": page, "pages": pages, "total": total, "size": PAGE_SIZE,
                       "first": (page - 1) * PAGE_SIZE + 1 if total else 0,
                       "last": min(total, page * PAGE_SIZE), "limited": sum(present.values()) == TABLE_LIMIT, "limit": TABLE_LIMIT})


def failed_runs_of(user, task: Task) -> list[int]:
    """The failed Stage Runs of the Task's current visit that `user` may retry."""
    return [r.id for r in permissions.current_runs(task)
            if r.status == StageRunStatus.failed and permissions.can_act(user, r, "retry")]


def table_csv_rows(view: dict):
    """The Table view as CSV rows (header first)."""
    columns, processes = view["columns"], view["processes"]
    yield ["task", "process", "status"] + [f.key for f in columns]
    for r in view["rows"]:
        yield ([r["task"].id, processes[r["task"].process_id].key, r["task"].status]
               + [cell(r["values"].get(f.key)) for f in columns])


def notifications_of(user) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id.desc()).limit(200)).all()
