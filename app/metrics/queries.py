"""Dashboard figures as SQL aggregations (SQLAlchemy Core). Rows are never loaded into Python:
every function returns one small row per group (stage, bucket, route, variant).

Periods: visits are filtered on entered_at, Stage Runs on ready_at, throughput on left_at (the
moment a Task completed), all as half-open [start, end). A Task moved between Processes is counted
per visit / per run, i.e. in the Process where it actually spent the time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, func, literal, select

from app import clock
from app.extensions import db
from app.models import Event, Process, StageRun, StageTimer, TaskVisit, Version

V = TaskVisit.__table__
R = StageRun.__table__
T = StageTimer.__table__
E = Event.__table__
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95))


@dataclass
class Filters:
    process_id: int | None = None
    version_id: int | None = None
    variant_id: int | None = None
    stage_key: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    bucket: str = "day"             # day | hour (throughput)
    now: datetime = field(default_factory=clock.now)
    exact: bool = False             # True: never read the rollup (exact percentiles from raw rows)

    @classmethod
    def default(cls, **kw) -> Filters:
        """The default dashboard view: the last 7 days (see default_period)."""
        now = kw.pop("now", None) or clock.now()
        start, end = default_period(now)
        kw.setdefault("end", end)
        kw.setdefault("start", start)
        return cls(now=now, **kw)


def default_period(now: datetime) -> tuple[datetime, datetime]:
    """"Last 7 days" = today so far and the 6 whole days (UTC) before it, as most dashboards count days.
    Whole days also let the rollup answer from day rows alone (plus the live rows)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=6), now


def _pct_array(expr):
    """PostgreSQL: all PERCENTILES from ONE sort: percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY expr)."""
    from sqlalchemy import Float
    from sqlalchemy.dialects.postgresql import ARRAY, array

    return func.percentile_cont(array([literal(p, Float) for _, p in PERCENTILES]),
                                type_=ARRAY(Float)).within_group(expr.asc())


def _unpack(values) -> dict:
    values = values or [None] * len(PERCENTILES)
    return {name: _num(v) for (name, _), v in zip(PERCENTILES, values)}


def sql(stmt, params: dict | None = None):
    """Execute a Core statement on the session's connection (its transaction), skipping the ORM's
    per-statement work: every metrics statement is Core and returns plain rows.
    On PostgreSQL the transaction first turns parallel plans off (SET LOCAL): metrics statements are
    small index-driven reads, and starting parallel workers (~25 ms) cost more than they saved when
    the planner overestimated a range (seen on 90-day views)."""
    conn = db.session.connection()
    tx = conn.get_transaction()
    if conn.dialect.name == "postgresql" and conn.info.get("procly_serial_tx") is not tx:
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        conn.info["procly_serial_tx"] = tx
    return conn.execute(stmt, params)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def seconds_between(a, b):
    """b - a in seconds, in SQL."""
    if _dialect() == "postgresql":
        return func.extract("epoch", b - a)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def _visit_where(f: Filters, col=None) -> list:
    col = V.c.entered_at if col is None else col
    w = []
    if f.process_id is not None:
        w.append(V.c.process_id == f.process_id)
    if f.version_id is not None:
        w.append(V.c.version_id == f.version_id)
    if f.variant_id is not None:
        w.append(V.c.variant_id == f.variant_id)
    if f.start is not None:
        w.append(col >= f.start)
    if f.end is not None:
        w.append(col < f.end)
    return w


def _runs_from(f: Filters):
    """FROM clause for Stage Runs; joins visits only when filtering on the variant."""
    return R.join(V, V.c.id == R.c.visit_id) if f.variant_id is not None else R


def _run_where(f: Filters, *, period: bool = True) -> list:
    w = []
    if f.process_id is not None:
        w.append(R.c.process_id == f.process_id)
    if f.version_id is not None:
        w.append(R.c.version_id == f.version_id)
    if f.variant_id is not None:
        w.append(V.c.variant_id == f.variant_id)
    if f.stage_key:
        w.append(R.c.stage_key == f.stage_key)
    if period and f.start is not None:
        w.append(R.c.ready_at >= f.start)
    if period and f.end is not None:
        w.append(R.c.ready_at < f.end)
    return w


def _num(x, digits=3):
    return None if x is None else round(float(x), digits)


def percentiles(values, group_cols: list[str], extra=()) -> list[dict]:
    """p50/p90/p95 (linear interpolation, as PostgreSQL's percentile_cont), avg and n of column `v`
    of the subquery `values`, per group. PostgreSQL: percentile_cont; elsewhere a window query
    (ROW_NUMBER over the ordered values, then pick the two neighbouring ranks)."""
    groups = [values.c[g] for g in group_cols]
    v = values.c.v
    if _dialect() == "postgresql":
        stmt = select(*groups, _pct_array(v).label("pcts"), func.avg(v).label("avg"),
                      func.count(v).label("n"), *extra).group_by(*groups)
    else:
        others = [c for c in values.c if c.key not in group_cols and c.key != "v"]
        ranked = select(*groups, v.label("v"), *others,
                        func.row_number().over(partition_by=groups or None, order_by=v).label("rn"),
                        func.count().over(partition_by=groups or None).label("cnt")).subquery()
        rg = [ranked.c[g] for g in group_cols]
        cols = []
        for name, p in PERCENTILES:
            h = (ranked.c.cnt - 1) * p
            lo_i = cast(h, Integer) + 1
            lo = func.max(case((ranked.c.rn == lo_i, ranked.c.v)))
            hi = func.max(case((ranked.c.rn == lo_i + 1, ranked.c.v)))
            frac = func.max(h - cast(h, Integer))
            cols.append((lo + frac * (func.coalesce(hi, lo) - lo)).label(name))
        stmt = select(*rg, *cols, func.avg(ranked.c.v).label("avg"), func.count().label("n"),
                      *[_rebind(x, values, ranked) for x in extra]).group_by(*rg)
    out = []
    for row in sql(stmt).mappings():
        d = {g: row[g] for g in group_cols}
        d.update(_unpack(row["pcts"]) if "pcts" in row else {k: _num(row[k]) for k, _ in PERCENTILES})
        d["avg"] = _num(row["avg"])
        d["n"] = int(row["n"] or 0)
        for x in extra:
            d[x.name] = int(row[x.name] or 0)
        out.append(d)
    return out


def _rebind(expr, old, new):
    """Point an aggregate over `old` subquery columns at the same-named columns of `new`."""
    from sqlalchemy.sql import visitors

    def swap(col):
        if getattr(col, "table", None) is old:
            return new.c[col.key]
        return None

    return visitors.replacement_traverse(expr, {}, swap)


def _one(rows: list[dict]) -> dict:
    return rows[0] if rows else {"p50": None, "p90": None, "p95": None, "avg": None, "n": 0}


# --- visits: Tasks started / completed / moved, lead time ------------------------------------

def visit_counts(f: Filters) -> dict:
    stmt = select(
        func.count().label("started"),
        func.count(case((V.c.outcome == "completed", 1))).label("completed"),
        func.count(case((V.c.outcome == "moved", 1))).label("moved"),
        func.count(case((V.c.outcome == "cancelled", 1))).label("cancelled"),
        func.count(case((V.c.left_at.is_(None), 1))).label("running"),
    ).where(*_visit_where(f))
    return {k: int(v or 0) for k, v in sql(stmt).mappings().one().items()}


def lead_time_values(f: Filters, extra_cols=()):
    """Subquery (…, v): lead time in seconds of completed visits."""
    return (select(*extra_cols, seconds_between(V.c.entered_at, V.c.left_at).label("v"))
            .where(V.c.outcome == "completed", V.c.left_at.is_not(None), *_visit_where(f)).subquery())


def lead_time(f: Filters) -> dict:
    return _one(percentiles(lead_time_values(f), []))


def lead_time_by_version(f: Filters) -> list[dict]:
    from app.metrics import rollup_read

    acc = rollup_read.figures(f, "visit")
    if acc is not None:
        counts, hist = _by(acc, lambda k: (k[0], k[1]))
        rows = [{"process_id": p, "version_id": v, **_pct_from(c, hist.get((p, v), {}), "lead")}
                for (p, v), c in counts.items() if c["lead_n"]]
    else:
        sub = lead_time_values(f, (V.c.process_id.label("process_id"), V.c.version_id.label("version_id")))
        rows = percentiles(sub, ["process_id", "version_id"])
    names = _names(Process, {r["process_id"] for r in rows})
    numbers = dict(sql(select(Version.id, Version.number)
                                      .where(Version.id.in_({r["version_id"] for r in rows}))).all())
    for r in rows:
        r["label"] = f"{names.get(r['process_id'], '?')} v{numbers.get(r['version_id'], '?')}"
    return sorted(rows, key=lambda r: r["label"])


def _names(model, ids) -> dict:
    if not ids:
        return {}
    return dict(sql(select(model.id, model.name).where(model.id.in_(ids))).all())


def throughput(f: Filters) -> list[dict]:
    """Completed visits per day/hour bucket of left_at."""
    fmt = "%Y-%m-%d %H:00" if f.bucket == "hour" else "%Y-%m-%d"
    if _dialect() == "postgresql":   # date_trunc is several times cheaper per row than to_char
        bucket = func.date_trunc(f.bucket, V.c.left_at)
    else:
        bucket = func.strftime(fmt, V.c.left_at)
    stmt = (select(bucket.label("bucket"), func.count().label("completed"))
            .where(V.c.outcome == "completed", *_visit_where(f, V.c.left_at))
            .group_by(bucket).order_by(bucket))
    return [{"bucket": b if isinstance(b, str) else b.strftime(fmt), "completed": int(c)}
            for b, c in sql(stmt).all()]


def routes(f: Filters) -> list[dict]:
    """Route usage: visits moved out, by (process, route_key, target process)."""
    w = _visit_where(f)
    if f.process_id is None:    # every Process, listed: (process_id, entered_at) serves the period
        w.append(V.c.process_id.in_(db.session.scalars(select(Process.id)).all() or [0]))
    stmt = (select(V.c.process_id, V.c.route_key, V.c.target_process_id, func.count().label("count"))
            .where(V.c.outcome == "moved", *w)
            .group_by(V.c.process_id, V.c.route_key, V.c.target_process_id))
    rows = [dict(r) for r in sql(stmt).mappings()]
    names = _names(Process, {r["process_id"] for r in rows} | {r["target_process_id"] for r in rows} - {None})
    for r in rows:
        r["process"] = names.get(r["process_id"])
        r["target_process"] = names.get(r["target_process_id"])
        r["count"] = int(r["count"])
    return sorted(rows, key=lambda r: (-r["count"], r["route_key"] or ""))


# --- Stage Runs: counts, error rate, cycle/wait, WIP, staff time ------------------------------

def stage_counts(f: Filters) -> dict[str, dict]:
    stmt = (select(R.c.stage_key,
                   func.count().label("runs"),
                   func.count(case((R.c.status == "completed", 1))).label("completed"),
                   func.count(case((R.c.status == "failed", 1))).label("failed"),
                   func.coalesce(func.sum(R.c.active_seconds), 0).label("staff_seconds"),
                   func.count(case((R.c.active_seconds > 0, 1))).label("worked"))
            .select_from(_runs_from(f)).where(*_run_where(f)).group_by(R.c.stage_key))
    out = {}
    for r in sql(stmt).mappings():
        runs, worked = int(r["runs"]), int(r["worked"])
        out[r["stage_key"]] = {
            "runs": runs, "completed": int(r["completed"]), "failed": int(r["failed"]),
            "error_rate": _num(int(r["failed"]) / runs, 4) if runs else None,
            "staff_seconds": _num(r["staff_seconds"]),
            "staff_seconds_avg": _num(float(r["staff_seconds"]) / worked) if worked else None,
        }
    return out


def wip(f: Filters) -> dict[str, dict]:
    """Open Stage Runs now (not period-bound): WIP and queue length (ready, not started) per Stage."""
    stmt = (select(R.c.stage_key, func.count().label("wip"),
                   func.count(case((R.c.status == "pending", 1))).label("queued"))
            .select_from(_runs_from(f)).where(R.c.finished_at.is_(None), *_run_where(f, period=False))
            .group_by(R.c.stage_key))
    return {k: {"wip": int(w), "queued": int(q)} for k, w, q in sql(stmt).all()}


def cycle_times(f: Filters) -> dict[str, dict]:
    sub = (select(R.c.stage_key.label("stage_key"), seconds_between(R.c.started_at, R.c.finished_at).label("v"))
           .select_from(_runs_from(f))
           .where(R.c.status == "completed", R.c.started_at.is_not(None), *_run_where(f)).subquery())
    return {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"])}


def wait_times(f: Filters) -> dict[str, dict]:
    sub = (select(R.c.stage_key.label("stage_key"), seconds_between(R.c.ready_at, R.c.started_at).label("v"))
           .select_from(_runs_from(f)).where(R.c.started_at.is_not(None), *_run_where(f)).subquery())
    return {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"])}


def _due_cols(f: Filters) -> list:
    """SLA on the run itself: due_at is set from the Stage's 'due' timer; breached when the run
    finished after it, or is still open past it."""
    return [func.count(R.c.due_at).label("with_sla"),
            func.count(case((R.c.due_at < func.coalesce(R.c.finished_at, f.now), 1))).label("breached")]


def sla_fired(f: Filters) -> dict[str, dict]:
    """Reminders and escalations fired per Stage, from the sla.* Events (one per fired StageTimer),
    reached by (type, created_at) and joined to their runs for the filters."""
    w = [E.c.type.in_(("sla.reminder", "sla.escalated"))]
    if f.start is not None:
        w.append(E.c.created_at >= f.start)   # a timer fires after its run was ready
    stmt = (select(R.c.stage_key, func.count(case((E.c.type == "sla.reminder", 1))),
                   func.count(case((E.c.type == "sla.escalated", 1))))
            .select_from(_runs_from(f).join(E, E.c.stage_run_id == R.c.id))
            .where(*w, *_run_where(f)).group_by(R.c.stage_key))
    return {k: {"reminders": int(a), "escalations": int(b)} for k, a, b in sql(stmt).all()}


def sla_timers(f: Filters) -> dict[str, dict]:
    """The same figures from StageTimer rows (fired_at): a cross-check; joins every run's timers."""
    stmt = (select(R.c.stage_key,
                   func.count(func.distinct(case((T.c.kind == "due", R.c.id)))).label("with_sla"),
                   func.count(func.distinct(case((and_(T.c.kind == "due", T.c.fired_at.is_not(None)), R.c.id))))
                   .label("breached"),
                   func.count(case((and_(T.c.kind == "reminder", T.c.fired_at.is_not(None)), 1))).label("reminders"),
                   func.count(case((and_(T.c.kind == "escalation", T.c.fired_at.is_not(None)), 1)))
                   .label("escalations"))
            .select_from(_runs_from(f).join(T, T.c.stage_run_id == R.c.id))
            .where(*_run_where(f)).group_by(R.c.stage_key))
    return {k: {"with_sla": int(a), "breached": int(b), "reminders": int(c), "escalations": int(d)}
            for k, a, b, c, d in sql(stmt).all()}


def _sla_rows(due: dict[str, tuple[int, int]], fired: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for k in set(due) | set(fired):
        with_sla, breached = due.get(k, (0, 0))
        if not with_sla and not fired.get(k):
            continue
        out[k] = {"with_sla": with_sla, "breached": breached, **fired.get(k, {"reminders": 0, "escalations": 0}),
                  "breach_rate": _num(breached / with_sla, 4) if with_sla else None}
    return out


def sla(f: Filters) -> dict[str, dict]:
    """Per Stage: runs with an SLA, how many breached it, reminders and escalations fired."""
    stmt = (select(R.c.stage_key, *_due_cols(f)).select_from(_runs_from(f)).where(*_run_where(f))
            .group_by(R.c.stage_key))
    due = {k: (int(a), int(b)) for k, a, b in sql(stmt).all()}
    return _sla_rows(due, sla_fired(f))


def approvals(f: Filters) -> dict[str, dict]:
    """Time to decision per Stage: first 'awaiting_approval' status Event of the run → decided_at."""
    # start from the filtered runs (decided ones) and reach their Events through ix_events stage_run_id
    asked = (select(R.c.stage_key.label("stage_key"), R.c.decided_at, R.c.approval_status,
                    func.min(E.c.created_at).label("asked_at"))
             .select_from(_runs_from(f).join(E, and_(E.c.stage_run_id == R.c.id, E.c.type == "stage.status",
                                                      E.c.to_status == "awaiting_approval")))
             .where(R.c.decided_at.is_not(None), *_run_where(f))
             .group_by(R.c.id, R.c.stage_key, R.c.decided_at, R.c.approval_status).subquery())
    sub = select(asked.c.stage_key, seconds_between(asked.c.asked_at, asked.c.decided_at).label("v"),
                 asked.c.approval_status).subquery()
    rows = {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"], extra=(
        func.count(case((sub.c.approval_status == "approved", 1))).label("approved"),
        func.count(case((sub.c.approval_status == "rejected", 1))).label("rejected")))}
    return rows


def _stage_core_pg(f: Filters) -> tuple[dict, dict, dict, dict]:
    """PostgreSQL: counts, cycle and wait percentiles of every Stage in ONE pass over the runs
    (percentile_cont and avg skip the NULLs of the CASE expressions)."""
    cyc = case((and_(R.c.status == "completed", R.c.started_at.is_not(None)),
                seconds_between(R.c.started_at, R.c.finished_at)))
    wt = case((R.c.started_at.is_not(None), seconds_between(R.c.ready_at, R.c.started_at)))
    cols = []
    for pre, expr in (("c", cyc), ("w", wt)):
        cols += [_pct_array(expr).label(f"{pre}_pcts"), func.avg(expr).label(f"{pre}_avg"),
                 func.count(expr).label(f"{pre}_n")]
    stmt = (select(R.c.stage_key, func.count().label("runs"),
                   func.count(case((R.c.status == "completed", 1))).label("completed"),
                   func.count(case((R.c.status == "failed", 1))).label("failed"),
                   func.coalesce(func.sum(R.c.active_seconds), 0).label("staff_seconds"),
                   func.count(case((R.c.active_seconds > 0, 1))).label("worked"), *_due_cols(f), *cols)
            .select_from(_runs_from(f)).where(*_run_where(f)).group_by(R.c.stage_key))
    counts, cycle, wait, due = {}, {}, {}, {}
    for r in sql(stmt).mappings():
        k, runs, worked = r["stage_key"], int(r["runs"]), int(r["worked"])
        due[k] = (int(r["with_sla"]), int(r["breached"]))
        counts[k] = {"runs": runs, "completed": int(r["completed"]), "failed": int(r["failed"]),
                     "error_rate": _num(int(r["failed"]) / runs, 4) if runs else None,
                     "staff_seconds": _num(r["staff_seconds"]),
                     "staff_seconds_avg": _num(float(r["staff_seconds"]) / worked) if worked else None}
        for pre, out in (("c", cycle), ("w", wait)):
            if r[f"{pre}_n"]:
                out[k] = {**_unpack(r[f"{pre}_pcts"]), "avg": _num(r[f"{pre}_avg"]), "n": int(r[f"{pre}_n"])}
    return counts, cycle, wait, due


def _by(acc, key_of) -> tuple[dict, dict]:
    """Sum an Acc's counts and histograms by key_of(its key) (rollup._key_cols)."""
    counts, hist = {}, {}
    for key, c in acc.counts.items():
        d = counts.setdefault(key_of(key), {})
        for name, v in c.items():
            d[name] = d.get(name, 0) + v
    for key, ms in acc.hist.items():
        d = hist.setdefault(key_of(key), {})
        for m, buckets in ms.items():
            h = d.setdefault(m, {})
            for b, n in buckets.items():
                h[b] = h.get(b, 0) + n
    return counts, hist


def _pct_from(c: dict, hist: dict, m: str) -> dict:
    from app.metrics.rollup_read import percentiles_from

    n = int(c.get(f"{m}_n", 0))
    return {**percentiles_from(hist.get(m, {}), PERCENTILES), "avg": _num(c[f"{m}_sum"] / n) if n else None, "n": n}


def _stages_rolled(acc) -> tuple[dict, dict, dict, dict, dict]:
    counts, cyc, wt, sl, ap = {}, {}, {}, {}, {}
    by_stage, hist = _by(acc, lambda k: k[0])
    for k, c in by_stage.items():
        runs, worked, failed = int(c["runs"]), int(c["worked"]), int(c["runs_failed"])
        counts[k] = {"runs": runs, "completed": int(c["runs_completed"]), "failed": failed,
                     "error_rate": _num(failed / runs, 4) if runs else None,
                     "staff_seconds": _num(c["staff_seconds"]),
                     "staff_seconds_avg": _num(float(c["staff_seconds"]) / worked) if worked else None}
        h = hist.get(k, {})
        if c["cycle_n"]:
            cyc[k] = _pct_from(c, h, "cycle")
        if c["wait_n"]:
            wt[k] = _pct_from(c, h, "wait")
        if c["appr_n"]:
            ap[k] = {**_pct_from(c, h, "appr"), "approved": int(c["approved"]), "rejected": int(c["rejected"])}
    due = {k: (int(c["with_sla"]), int(c["breached"])) for k, c in by_stage.items()}
    fired = {k: {"reminders": int(c["reminders"]), "escalations": int(c["escalations"])}
             for k, c in by_stage.items() if c["reminders"] or c["escalations"]}
    sl = _sla_rows(due, fired)
    return counts, cyc, wt, sl, ap


def stages(f: Filters) -> list[dict]:
    """Every Stage with its figures, ranked as bottlenecks: share of total time (wait + cycle)
    first, then queue length. Reads the rollup when it covers the period (app.metrics.rollup:
    counts exact, percentiles from histograms) unless f.exact."""
    from app.metrics import rollup_read

    acc = rollup_read.figures(f, "run")
    if acc is not None:
        counts, cyc, wt, sl, ap = _stages_rolled(acc)
    elif _dialect() == "postgresql":
        counts, cyc, wt, due = _stage_core_pg(f)
        sl = _sla_rows(due, sla_fired(f))
        ap = approvals(f)
    else:
        counts, cyc, wt, sl = stage_counts(f), cycle_times(f), wait_times(f), sla(f)
        ap = approvals(f)
    open_ = wip(f)
    keys = set(counts) | set(open_) | set(cyc) | set(wt)
    empty = {"p50": None, "p90": None, "p95": None, "avg": None, "n": 0}
    rows = []
    for k in keys:
        c, w = cyc.get(k, empty), wt.get(k, empty)
        total = (c["avg"] or 0) * c["n"] + (w["avg"] or 0) * w["n"]
        rows.append({"stage_key": k, **counts.get(k, {"runs": 0, "completed": 0, "failed": 0, "error_rate": None,
                                                        "staff_seconds": 0.0, "staff_seconds_avg": None}),
                     **open_.get(k, {"wip": 0, "queued": 0}), "cycle": c, "wait": w,
                     "sla": sl.get(k), "approval": ap.get(k), "time_seconds": _num(total)})
    grand = sum(r["time_seconds"] for r in rows) or 0
    for r in rows:
        r["time_share"] = _num(r["time_seconds"] / grand, 4) if grand else None
    rows.sort(key=lambda r: (-(r["time_share"] or 0), -r["queued"], r["stage_key"]))
    by_queue = sorted(rows, key=lambda r: (-r["queued"], -r["wip"], r["stage_key"]))
    for i, r in enumerate(rows):
        r["rank_time"] = i + 1
    for i, r in enumerate(by_queue):
        r["rank_queue"] = i + 1
    return rows


def _visits_pg(f: Filters) -> tuple[dict, dict]:
    """PostgreSQL: visit counts and lead-time percentiles in one pass."""
    lead = case((and_(V.c.outcome == "completed", V.c.left_at.is_not(None)),
                 seconds_between(V.c.entered_at, V.c.left_at)))
    stmt = select(
        func.count().label("started"),
        func.count(case((V.c.outcome == "completed", 1))).label("completed"),
        func.count(case((V.c.outcome == "moved", 1))).label("moved"),
        func.count(case((V.c.outcome == "cancelled", 1))).label("cancelled"),
        func.count(case((V.c.left_at.is_(None), 1))).label("running"),
        _pct_array(lead).label("pcts"), func.avg(lead).label("avg"), func.count(lead).label("n"),
    ).where(*_visit_where(f))
    r = sql(stmt).mappings().one()
    counts = {k: int(r[k] or 0) for k in ("started", "completed", "moved", "cancelled", "running")}
    return counts, {**_unpack(r["pcts"]), "avg": _num(r["avg"]), "n": int(r["n"] or 0)}


def _visits_rolled(acc) -> tuple[dict, dict]:
    c, hist = _by(acc, lambda k: "")
    c, hist = c.get("", dict.fromkeys(("started", "completed", "moved", "cancelled", "lead_n", "lead_sum"), 0)), \
        hist.get("", {})
    visits = {k: int(c[k]) for k in ("started", "completed", "moved", "cancelled")}
    visits["running"] = acc.running
    return visits, _pct_from(c, hist, "lead")


def summary(f: Filters) -> dict:
    from app.metrics import rollup_read

    st = stages(f)
    acc = rollup_read.figures(f, "visit")
    if acc is not None:
        visits, lead = _visits_rolled(acc)
    elif _dialect() == "postgresql":
        visits, lead = _visits_pg(f)
    else:
        visits, lead = visit_counts(f), lead_time(f)
    runs = sum(r["runs"] for r in st)
    failed = sum(r["failed"] for r in st)
    with_sla = sum((r["sla"] or {}).get("with_sla", 0) for r in st)
    breached = sum((r["sla"] or {}).get("breached", 0) for r in st)
    return {
        "visits": visits, "lead_time": lead,
        "runs": runs, "failed": failed, "error_rate": _num(failed / runs, 4) if runs else None,
        "wip": sum(r["wip"] for r in st), "queued": sum(r["queued"] for r in st),
        "sla": {"with_sla": with_sla, "breached": breached,
                "breach_rate": _num(breached / with_sla, 4) if with_sla else None,
                "reminders": sum((r["sla"] or {}).get("reminders", 0) for r in st),
                "escalations": sum((r["sla"] or {}).get("escalations", 0) for r in st)},
        "staff_seconds": _num(sum(r["staff_seconds"] or 0 for r in st)),
        "stages": st,
    }


def sla_events(f: Filters) -> dict[str, int]:
    """sla.* Events in the period (breached / reminder / escalated), a cross-check of the timers."""
    w = [E.c.type.in_(("sla.breached", "sla.reminder", "sla.escalated"))]
    if f.process_id is not None:
        w.append(E.c.process_id == f.process_id)
    if f.start is not None:
        w.append(E.c.created_at >= f.start)
    if f.end is not None:
        w.append(E.c.created_at < f.end)
    stmt = select(E.c.type, func.count()).where(*w).group_by(E.c.type)
    return {t: int(n) for t, n in sql(stmt).all()}


# --- A/B: variants of a Split side by side ----------------------------------------------------

def variant_outcomes(f: Filters, variant_ids: list[int]) -> dict[int, dict]:
    """Per variant: visits finished (completed + routed away) and completed, in the variant's Process."""
    g = dict(f.__dict__)
    g["variant_id"] = None
    base = Filters(**g)
    stmt = (select(V.c.variant_id, func.count(case((V.c.outcome.in_(("completed", "moved")), 1))).label("finished"),
                   func.count(case((V.c.outcome == "completed", 1))).label("completed"),
                   func.count().label("started"))
            .where(V.c.variant_id.in_(variant_ids), *_visit_where(base)).group_by(V.c.variant_id))
    return {r["variant_id"]: {k: int(r[k]) for k in ("finished", "completed", "started")}
            for r in sql(stmt).mappings()}


def variant_lead_times(f: Filters, variant_ids: list[int]) -> dict[int, dict]:
    g = dict(f.__dict__)
    g["variant_id"] = None
    sub = lead_time_values(Filters(**g), (V.c.variant_id.label("variant_id"),))
    sub = select(sub).where(sub.c.variant_id.in_(variant_ids)).subquery()
    return {r.pop("variant_id"): r for r in percentiles(sub, ["variant_id"])}


def rank_sums(f: Filters, a: int, b: int) -> dict | None:
    """Mann-Whitney inputs computed in SQL over the pooled lead times of variants a and b:
    n1, n2, the rank sum of a (average ranks for ties) and the tie term sum(t^3 - t)."""
    g = dict(f.__dict__)
    g["variant_id"] = None
    sub = lead_time_values(Filters(**g), (V.c.variant_id.label("variant_id"),))
    pooled = select(sub).where(sub.c.variant_id.in_((a, b))).subquery()
    ranked = select(pooled.c.variant_id, pooled.c.v,
                    func.rank().over(order_by=pooled.c.v).label("rk"),
                    func.count().over(partition_by=pooled.c.v).label("t")).subquery()
    avg_rank = ranked.c.rk + (ranked.c.t - 1) / literal(2.0)
    stmt = select(func.count(case((ranked.c.variant_id == a, 1))),
                  func.count(case((ranked.c.variant_id == b, 1))),
                  func.coalesce(func.sum(case((ranked.c.variant_id == a, avg_rank), else_=0)), 0),
                  # each tie group of size t contributes t rows of (t^3 - t)/t = t^2 - 1
                  func.coalesce(func.sum(ranked.c.t * ranked.c.t - 1), 0))
    n1, n2, r1, ties = sql(stmt).one()
    return {"n1": int(n1), "n2": int(n2), "rank_sum1": float(r1), "tie_term": float(ties)}


def active_wip(process_id: int | None = None) -> int:
    w = [R.c.finished_at.is_(None)]
    if process_id is not None:
        w.append(R.c.process_id == process_id)
    return int(db.session.scalar(select(func.count()).select_from(R).where(*w)) or 0)


__all__ = ["Filters", "percentiles", "visit_counts", "lead_time", "lead_time_by_version", "throughput", "routes",
           "stage_counts", "wip", "cycle_times", "wait_times", "sla", "approvals", "stages", "summary",
           "sla_events", "sla_fired", "sla_timers", "variant_outcomes", "variant_lead_times", "rank_sums"]
