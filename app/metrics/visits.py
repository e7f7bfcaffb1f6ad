"""Visit figures: Tasks started / completed / moved, lead time (per Version), throughput, Route
usage, and the summary of a dashboard view."""
from __future__ import annotations

from sqlalchemy import and_, case, func, select

from app.extensions import db
from app.metrics import rollup_read
from app.metrics.sql import (E, Filters, V, dialect, lead_time_values, num, one, pct_array, percentiles,
                             seconds_between, sql, unpack, visit_where)
from app.metrics.stage_runs import by_key, pct_from, stages
from app.models import Process, Version

# --- visits: Tasks started / completed / moved, lead time ------------------------------------

def visit_counts(f: Filters) -> dict:
    stmt = select(
        func.count().label("started"),
        func.count(case((V.c.outcome == "completed", 1))).label("completed"),
        func.count(case((V.c.outcome == "moved", 1))).label("moved"),
        func.count(case((V.c.outcome == "cancelled", 1))).label("cancelled"),
        func.count(case((V.c.left_at.is_(None), 1))).label("running"),
    ).where(*visit_where(f))
    return {k: int(v or 0) for k, v in sql(stmt).mappings().one().items()}


def lead_time(f: Filters) -> dict:
    return one(percentiles(lead_time_values(f), []))


def lead_time_by_version(f: Filters) -> list[dict]:
    acc = rollup_read.figures(f, "visit")
    if acc is not None:
        counts, hist = by_key(acc, lambda k: (k[0], k[1]))
        rows = [{"process_id": p, "version_id": v, **pct_from(c, hist.get((p, v), {}), "lead")}
                for (p, v), c in counts.items() if c["lead_n"]]
    else:
        sub = lead_time_values(f, (V.c.process_id.label("process_id"), V.c.version_id.label("version_id")))
        rows = percentiles(sub, ["process_id", "version_id"])
    names = names_of(Process, {r["process_id"] for r in rows})
    numbers = dict(sql(select(Version.id, Version.number)
                                      .where(Version.id.in_({r["version_id"] for r in rows}))).all())
    for r in rows:
        r["label"] = f"{names.get(r['process_id'], '?')} v{numbers.get(r['version_id'], '?')}"
    return sorted(rows, key=lambda r: r["label"])


def names_of(model, ids) -> dict:
    if not ids:
        return {}
    return dict(sql(select(model.id, model.name).where(model.id.in_(ids))).all())


def throughput(f: Filters) -> list[dict]:
    """Completed visits per day/hour bucket of left_at."""
    fmt = "%Y-%m-%d %H:00" if f.bucket == "hour" else "%Y-%m-%d"
    if dialect() == "postgresql":   # date_trunc is several times cheaper per row than to_char
        bucket = func.date_trunc(f.bucket, V.c.left_at)
    else:
        bucket = func.strftime(fmt, V.c.left_at)
    stmt = (select(bucket.label("bucket"), func.count().label("completed"))
            .where(V.c.outcome == "completed", *visit_where(f, V.c.left_at))
            .group_by(bucket).order_by(bucket))
    return [{"bucket": b if isinstance(b, str) else b.strftime(fmt), "completed": int(c)}
            for b, c in sql(stmt).all()]


def routes(f: Filters) -> list[dict]:
    """Route usage: visits moved out, by (process, route_key, target process)."""
    w = visit_where(f)
    if f.process_id is None:    # every Process, listed: (process_id, entered_at) serves the period
        w.append(V.c.process_id.in_(db.session.scalars(select(Process.id)).all() or [0]))
    stmt = (select(V.c.process_id, V.c.route_key, V.c.target_process_id, func.count().label("count"))
            .where(V.c.outcome == "moved", *w)
            .group_by(V.c.process_id, V.c.route_key, V.c.target_process_id))
    rows = [dict(r) for r in sql(stmt).mappings()]
    names = names_of(Process, {r["process_id"] for r in rows} | {r["target_process_id"] for r in rows} - {None})
    for r in rows:
        r["process"] = names.get(r["process_id"])
        r["target_process"] = names.get(r["target_process_id"])
        r["count"] = int(r["count"])
    return sorted(rows, key=lambda r: (-r["count"], r["route_key"] or ""))


def visits_pg(f: Filters) -> tuple[dict, dict]:
    """PostgreSQL: visit counts and lead-time percentiles in one pass."""
    lead = case((and_(V.c.outcome == "completed", V.c.left_at.is_not(None)),
                 seconds_between(V.c.entered_at, V.c.left_at)))
    stmt = select(
        func.count().label("started"),
        func.count(case((V.c.outcome == "completed", 1))).label("completed"),
        func.count(case((V.c.outcome == "moved", 1))).label("moved"),
        func.count(case((V.c.outcome == "cancelled", 1))).label("cancelled"),
        func.count(case((V.c.left_at.is_(None), 1))).label("running"),
        pct_array(lead).label("pcts"), func.avg(lead).label("avg"), func.count(lead).label("n"),
    ).where(*visit_where(f))
    r = sql(stmt).mappings().one()
    counts = {k: int(r[k] or 0) for k in ("started", "completed", "moved", "cancelled", "running")}
    return counts, {**unpack(r["pcts"]), "avg": num(r["avg"]), "n": int(r["n"] or 0)}


def visits_rolled(acc) -> tuple[dict, dict]:
    c, hist = by_key(acc, lambda k: "")
    c, hist = c.get("", dict.fromkeys(("started", "completed", "moved", "cancelled", "lead_n", "lead_sum"), 0)), \
        hist.get("", {})
    visits = {k: int(c[k]) for k in ("started", "completed", "moved", "cancelled")}
    visits["running"] = acc.running
    return visits, pct_from(c, hist, "lead")


def summary(f: Filters) -> dict:
    st = stages(f)
    acc = rollup_read.figures(f, "visit")
    if acc is not None:
        visits, lead = visits_rolled(acc)
    elif dialect() == "postgresql":
        visits, lead = visits_pg(f)
    else:
        visits, lead = visit_counts(f), lead_time(f)
    runs = sum(r["runs"] for r in st)
    failed = sum(r["failed"] for r in st)
    with_sla = sum((r["sla"] or {}).get("with_sla", 0) for r in st)
    breached = sum((r["sla"] or {}).get("breached", 0) for r in st)
    return {
        "visits": visits, "lead_time": lead,
        "runs": runs, "failed": failed, "error_rate": num(failed / runs, 4) if runs else None,
        "wip": sum(r["wip"] for r in st), "queued": sum(r["queued"] for r in st),
        "sla": {"with_sla": with_sla, "breached": breached,
                "breach_rate": num(breached / with_sla, 4) if with_sla else None,
                "reminders": sum((r["sla"] or {}).get("reminders", 0) for r in st),
                "escalations": sum((r["sla"] or {}).get("escalations", 0) for r in st)},
        "staff_seconds": num(sum(r["staff_seconds"] or 0 for r in st)),
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
