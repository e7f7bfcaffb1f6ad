"""Stage Run figures per Stage: counts and error rate, cycle and wait times, WIP and queue length,
staff time, SLA breaches, reminders and escalations, approvals, and the bottleneck ranking."""
from __future__ import annotations

from sqlalchemy import and_, case, func, select

from app.metrics import rollup_read
from app.metrics.rollup_read import percentiles_from
from app.metrics.sql import (E, PERCENTILES, Filters, R, T, dialect, num, pct_array, percentiles, run_where, runs_from,
                             seconds_between, sql, unpack)

# --- Stage Runs: counts, error rate, cycle/wait, WIP, staff time ------------------------------

def stage_counts(f: Filters) -> dict[str, dict]:
    stmt = (select(R.c.stage_key,
                   func.count().label("runs"),
                   func.count(case((R.c.status == "completed", 1))).label("completed"),
                   func.count(case((R.c.status == "failed", 1))).label("failed"),
                   func.coalesce(func.sum(R.c.active_seconds), 0).label("staff_seconds"),
                   func.count(case((R.c.active_seconds > 0, 1))).label("worked"))
            .select_from(runs_from(f)).where(*run_where(f)).group_by(R.c.stage_key))
    out = {}
    for r in sql(stmt).mappings():
        runs, worked = int(r["runs"]), int(r["worked"])
        out[r["stage_key"]] = {
            "runs": runs, "completed": int(r["completed"]), "failed": int(r["failed"]),
            "error_rate": num(int(r["failed"]) / runs, 4) if runs else None,
            "staff_seconds": num(r["staff_seconds"]),
            "staff_seconds_avg": num(float(r["staff_seconds"]) / worked) if worked else None,
        }
    return out


def wip(f: Filters) -> dict[str, dict]:
    """Open Stage Runs now (not period-bound): WIP and queue length (ready, not started) per Stage."""
    stmt = (select(R.c.stage_key, func.count().label("wip"),
                   func.count(case((R.c.status == "pending", 1))).label("queued"))
            .select_from(runs_from(f)).where(R.c.finished_at.is_(None), *run_where(f, period=False))
            .group_by(R.c.stage_key))
    return {k: {"wip": int(w), "queued": int(q)} for k, w, q in sql(stmt).all()}


def cycle_times(f: Filters) -> dict[str, dict]:
    sub = (select(R.c.stage_key.label("stage_key"), seconds_between(R.c.started_at, R.c.finished_at).label("v"))
           .select_from(runs_from(f))
           .where(R.c.status == "completed", R.c.started_at.is_not(None), *run_where(f)).subquery())
    return {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"])}


def wait_times(f: Filters) -> dict[str, dict]:
    sub = (select(R.c.stage_key.label("stage_key"), seconds_between(R.c.ready_at, R.c.started_at).label("v"))
           .select_from(runs_from(f)).where(R.c.started_at.is_not(None), *run_where(f)).subquery())
    return {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"])}


def due_cols(f: Filters) -> list:
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
            .select_from(runs_from(f).join(E, E.c.stage_run_id == R.c.id))
            .where(*w, *run_where(f)).group_by(R.c.stage_key))
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
            .select_from(runs_from(f).join(T, T.c.stage_run_id == R.c.id))
            .where(*run_where(f)).group_by(R.c.stage_key))
    return {k: {"with_sla": int(a), "breached": int(b), "reminders": int(c), "escalations": int(d)}
            for k, a, b, c, d in sql(stmt).all()}


def sla_rows(due: dict[str, tuple[int, int]], fired: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for k in set(due) | set(fired):
        with_sla, breached = due.get(k, (0, 0))
        if not with_sla and not fired.get(k):
            continue
        out[k] = {"with_sla": with_sla, "breached": breached, **fired.get(k, {"reminders": 0, "escalations": 0}),
                  "breach_rate": num(breached / with_sla, 4) if with_sla else None}
    return out


def sla(f: Filters) -> dict[str, dict]:
    """Per Stage: runs with an SLA, how many breached it, reminders and escalations fired."""
    stmt = (select(R.c.stage_key, *due_cols(f)).select_from(runs_from(f)).where(*run_where(f))
            .group_by(R.c.stage_key))
    due = {k: (int(a), int(b)) for k, a, b in sql(stmt).all()}
    return sla_rows(due, sla_fired(f))


def approvals(f: Filters) -> dict[str, dict]:
    """Time to decision per Stage: first 'awaiting_approval' status Event of the run → decided_at."""
    # start from the filtered runs (decided ones) and reach their Events through ix_events stage_run_id
    asked = (select(R.c.stage_key.label("stage_key"), R.c.decided_at, R.c.approval_status,
                    func.min(E.c.created_at).label("asked_at"))
             .select_from(runs_from(f).join(E, and_(E.c.stage_run_id == R.c.id, E.c.type == "stage.status",
                                                      E.c.to_status == "awaiting_approval")))
             .where(R.c.decided_at.is_not(None), *run_where(f))
             .group_by(R.c.id, R.c.stage_key, R.c.decided_at, R.c.approval_status).subquery())
    sub = select(asked.c.stage_key, seconds_between(asked.c.asked_at, asked.c.decided_at).label("v"),
                 asked.c.approval_status).subquery()
    rows = {r.pop("stage_key"): r for r in percentiles(sub, ["stage_key"], extra=(
        func.count(case((sub.c.approval_status == "approved", 1))).label("approved"),
        func.count(case((sub.c.approval_status == "rejected", 1))).label("rejected")))}
    return rows


def stage_core_pg(f: Filters) -> tuple[dict, dict, dict, dict]:
    """PostgreSQL: counts, cycle and wait percentiles of every Stage in ONE pass over the runs
    (percentile_cont and avg skip the NULLs of the CASE expressions)."""
    cyc = case((and_(R.c.status == "completed", R.c.started_at.is_not(None)),
                seconds_between(R.c.started_at, R.c.finished_at)))
    wt = case((R.c.started_at.is_not(None), seconds_between(R.c.ready_at, R.c.started_at)))
    cols = []
    for pre, expr in (("c", cyc), ("w", wt)):
        cols += [pct_array(expr).label(f"{pre}_pcts"), func.avg(expr).label(f"{pre}_avg"),
                 func.count(expr).label(f"{pre}_n")]
    stmt = (select(R.c.stage_key, func.count().label("runs"),
                   func.count(case((R.c.status == "completed", 1))).label("completed"),
                   func.count(case((R.c.status == "failed", 1))).label("failed"),
                   func.coalesce(func.sum(R.c.active_seconds), 0).label("staff_seconds"),
                   func.count(case((R.c.active_seconds > 0, 1))).label("worked"), *due_cols(f), *cols)
            .select_from(runs_from(f)).where(*run_where(f)).group_by(R.c.stage_key))
    counts, cycle, wait, due = {}, {}, {}, {}
    for r in sql(stmt).mappings():
        k, runs, worked = r["stage_key"], int(r["runs"]), int(r["worked"])
        due[k] = (int(r["with_sla"]), int(r["breached"]))
        counts[k] = {"runs": runs, "completed": int(r["completed"]), "failed": int(r["failed"]),
                     "error_rate": num(int(r["failed"]) / runs, 4) if runs else None,
                     "staff_seconds": num(r["staff_seconds"]),
                     "staff_seconds_avg": num(float(r["staff_seconds"]) / worked) if worked else None}
        for pre, out in (("c", cycle), ("w", wait)):
            if r[f"{pre}_n"]:
                out[k] = {**unpack(r[f"{pre}_pcts"]), "avg": num(r[f"{pre}_avg"]), "n": int(r[f"{pre}_n"])}
    return counts, cycle, wait, due


def by_key(acc, key_of) -> tuple[dict, dict]:
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


def pct_from(c: dict, hist: dict, m: str) -> dict:
    n = int(c.get(f"{m}_n", 0))
    return {**percentiles_from(hist.get(m, {}), PERCENTILES), "avg": num(c[f"{m}_sum"] / n) if n else None, "n": n}


def stages_rolled(acc) -> tuple[dict, dict, dict, dict, dict]:
    counts, cyc, wt, sl, ap = {}, {}, {}, {}, {}
    by_stage, hist = by_key(acc, lambda k: k[0])
    for k, c in by_stage.items():
        runs, worked, failed = int(c["runs"]), int(c["worked"]), int(c["runs_failed"])
        counts[k] = {"runs": runs, "completed": int(c["runs_completed"]), "failed": failed,
                     "error_rate": num(failed / runs, 4) if runs else None,
                     "staff_seconds": num(c["staff_seconds"]),
                     "staff_seconds_avg": num(float(c["staff_seconds"]) / worked) if worked else None}
        h = hist.get(k, {})
        if c["cycle_n"]:
            cyc[k] = pct_from(c, h, "cycle")
        if c["wait_n"]:
            wt[k] = pct_from(c, h, "wait")
        if c["appr_n"]:
            ap[k] = {**pct_from(c, h, "appr"), "approved": int(c["approved"]), "rejected": int(c["rejected"])}
    due = {k: (int(c["with_sla"]), int(c["breached"])) for k, c in by_stage.items()}
    fired = {k: {"reminders": int(c["reminders"]), "escalations": int(c["escalations"])}
             for k, c in by_stage.items() if c["reminders"] or c["escalations"]}
    sl = sla_rows(due, fired)
    return counts, cyc, wt, sl, ap


def stages(f: Filters) -> list[dict]:
    """Every Stage with its figures, ranked as bottlenecks: share of total time (wait + cycle)
    first, then queue length. Reads the rollup when it covers the period (app.metrics.rollup:
    counts exact, percentiles from histograms) unless f.exact."""
    acc = rollup_read.figures(f, "run")
    if acc is not None:
        counts, cyc, wt, sl, ap = stages_rolled(acc)
    elif dialect() == "postgresql":
        counts, cyc, wt, due = stage_core_pg(f)
        sl = sla_rows(due, sla_fired(f))
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
                     "sla": sl.get(k), "approval": ap.get(k), "time_seconds": num(total)})
    grand = sum(r["time_seconds"] for r in rows) or 0
    for r in rows:
        r["time_share"] = num(r["time_seconds"] / grand, 4) if grand else None
    rows.sort(key=lambda r: (-(r["time_share"] or 0), -r["queued"], r["stage_key"]))
    by_queue = sorted(rows, key=lambda r: (-r["queued"], -r["wip"], r["stage_key"]))
    for i, r in enumerate(rows):
        r["rank_time"] = i + 1
    for i, r in enumerate(by_queue):
        r["rank_queue"] = i + 1
    return rows
