"""The SQL building blocks of the dashboard figures (SQLAlchemy Core): the filters, the statement
runner, dialect-specific durations and percentiles, and the WHERE clauses of visits and Stage Runs.
Rows are never loaded into Python: every figure is one small row per group.

Periods: visits are filtered on entered_at, Stage Runs on ready_at, throughput on left_at (the
moment a Task completed), all as half-open [start, end). A Task moved between Processes is counted
per visit / per run, i.e. in the Process where it actually spent the time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql import visitors

from app import clock
from app.extensions import db
from app.models import Event, StageRun, StageTimer, TaskVisit

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


def pct_array(expr):
    """PostgreSQL: all PERCENTILES from ONE sort: percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY expr)."""
    return func.percentile_cont(array([literal(p, Float) for _, p in PERCENTILES]),
                                type_=ARRAY(Float)).within_group(expr.asc())


def unpack(values) -> dict:
    values = values or [None] * len(PERCENTILES)
    return {name: num(v) for (name, _), v in zip(PERCENTILES, values)}


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


def dialect() -> str:
    return db.session.get_bind().dialect.name


def seconds_between(a, b):
    """b - a in seconds, in SQL."""
    if dialect() == "postgresql":
        return func.extract("epoch", b - a)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def visit_where(f: Filters, col=None) -> list:
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


def runs_from(f: Filters):
    """FROM clause for Stage Runs; joins visits only when filtering on the variant."""
    return R.join(V, V.c.id == R.c.visit_id) if f.variant_id is not None else R


def run_where(f: Filters, *, period: bool = True) -> list:
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


def num(x, digits=3):
    return None if x is None else round(float(x), digits)


def percentiles(values, group_cols: list[str], extra=()) -> list[dict]:
    """p50/p90/p95 (linear interpolation, as PostgreSQL's percentile_cont), avg and n of column `v`
    of the subquery `values`, per group. PostgreSQL: percentile_cont; elsewhere a window query
    (ROW_NUMBER over the ordered values, then pick the two neighbouring ranks)."""
    groups = [values.c[g] for g in group_cols]
    v = values.c.v
    if dialect() == "postgresql":
        stmt = select(*groups, pct_array(v).label("pcts"), func.avg(v).label("avg"),
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
                      *[rebind(x, values, ranked) for x in extra]).group_by(*rg)
    out = []
    for row in sql(stmt).mappings():
        d = {g: row[g] for g in group_cols}
        d.update(unpack(row["pcts"]) if "pcts" in row else {k: num(row[k]) for k, _ in PERCENTILES})
        d["avg"] = num(row["avg"])
        d["n"] = int(row["n"] or 0)
        for x in extra:
            d[x.name] = int(row[x.name] or 0)
        out.append(d)
    return out


def rebind(expr, old, new):
    """Point an aggregate over `old` subquery columns at the same-named columns of `new`."""
    def swap(col):
        if getattr(col, "table", None) is old:
            return new.c[col.key]
        return None

    return visitors.replacement_traverse(expr, {}, swap)


def one(rows: list[dict]) -> dict:
    return rows[0] if rows else {"p50": None, "p90": None, "p95": None, "avg": None, "n": 0}


def lead_time_values(f: Filters, extra_cols=()):
    """Subquery (…, v): lead time in seconds of completed visits."""
    return (select(*extra_cols, seconds_between(V.c.entered_at, V.c.left_at).label("v"))
            .where(V.c.outcome == "completed", V.c.left_at.is_not(None), *visit_where(f)).subquery())
