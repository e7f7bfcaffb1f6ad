"""Incrementally maintained metric rollups (hour and day grains): the write side.

Write side (`refresh`, run by the RQ job app.metrics.jobs.rollup and `flask procly rollup`): at time W
every visit/run *closed* (left_at / finished_at) in [previous watermark, W) marks its (Process, hour of
entered_at / ready_at) dirty; each dirty hour is recomputed from raw rows closed before W (DELETE + one
INSERT … SELECT per table, so the job is idempotent), then its day row is re-summed from the hour rows.
The read side is app.metrics.rollup_read. Counts and sums are exact; durations are kept as log
histograms (BUCKETS_PER_DOUBLING buckets per factor 2: percentiles read from them are within
2^(1/16) - 1 = 4.4 % (relative) for values >= 1 s, < 1 s below)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, and_, case, cast, delete, func, insert, literal, or_, select, union_all

from app import clock
from app.extensions import db
from app.models import Event, MetricRollup, MetricRollupHist, MetricRollupState, StageRun, TaskVisit
from app.models.rollups import COUNT_COLUMNS

V, R, E = TaskVisit.__table__, StageRun.__table__, Event.__table__
MR, MH, MS = MetricRollup.__table__, MetricRollupHist.__table__, MetricRollupState.__table__
STATE_KEY = "metrics"
BUCKETS_PER_DOUBLING = 16
K = BUCKETS_PER_DOUBLING / math.log(2)
KEYS = ("process_id", "version_id", "variant_id", "stage_key")
VISIT_COLS = ("started", "completed", "moved", "cancelled", "lead_n", "lead_sum")
RUN_COLS = tuple(c for c in COUNT_COLUMNS if c not in VISIT_COLS)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _secs(a, b):
    if _pg():
        return cast(func.extract("epoch", b - a), Float)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def bucket_of(v):
    """SQL: bucket 0 holds [0, 1) s; bucket b >= 1 holds [2^((b-1)/16), 2^(b/16)) s."""
    return case((v < 1, 0), else_=cast(func.floor(func.ln(v) * K), Integer) + 1)


def bucket_bounds(b: int) -> tuple[float, float]:
    if b <= 0:
        return 0.0, 1.0
    return math.exp((b - 1) / K), math.exp(b / K)


def _trunc(col, grain: str):
    if _pg():
        return func.date_trunc(grain, col)
    return func.strftime("%Y-%m-%d %H:00:00.000000" if grain == "hour" else "%Y-%m-%d 00:00:00.000000", col)


# --- raw rows → (keys, counts, histogram) ---------------------------------------------------------

def _visit_rows(where, now):
    lead = case((and_(V.c.outcome == "completed", V.c.left_at.is_not(None)), _secs(V.c.entered_at, V.c.left_at)))
    return select(V.c.process_id, V.c.version_id, func.coalesce(V.c.variant_id, 0).label("variant_id"),
                  literal("").label("stage_key"), V.c.entered_at.label("t"), V.c.outcome, V.c.left_at,
                  lead.label("lead")).where(*where)


def _run_rows(where, now, bulk: bool = False, *, events: bool = True, visits: bool = True):
    """One row per Stage Run with its durations and SLA/approval Events.
    bulk (the rebuild): the Events are pre-aggregated per run and hash-joined; otherwise, on PostgreSQL,
    one LATERAL look-up per run through ix_events_stage_run_id (correlated sub-selects on SQLite).
    events=False (histograms): reminders/escalations skipped, the approval request looked up only for
    decided runs. visits=False: no join to the visits (variant_id 0; the read path when it does not
    filter on a variant)."""
    ev = E.alias("ev")
    frm = R.join(V, V.c.id == R.c.visit_id) if visits else R
    variant = func.coalesce(V.c.variant_id, 0) if visits else literal(0)
    ask_cond = and_(ev.c.type == "stage.status", ev.c.to_status == "awaiting_approval")

    def corr_asked():
        return select(func.min(ev.c.created_at)).where(ev.c.stage_run_id == R.c.id, ask_cond).scalar_subquery()

    if not events:
        rem = esc = literal(0)
        asked = corr_asked()
    elif bulk or _pg():
        agg = select(func.count(case((ev.c.type == "sla.reminder", 1))).label("rem"),
                     func.count(case((ev.c.type == "sla.escalated", 1))).label("esc"),
                     func.min(case((ask_cond, ev.c.created_at))).label("asked"))
        if bulk:
            agg = (agg.add_columns(ev.c.stage_run_id)
                   .where(ev.c.type.in_(("sla.reminder", "sla.escalated", "stage.status")),
                          ev.c.stage_run_id.is_not(None)).group_by(ev.c.stage_run_id).subquery())
            frm = frm.outerjoin(agg, agg.c.stage_run_id == R.c.id)
        else:   # only runs that can have such Events look: every SLA has a `due`, so a run with
            # reminders/escalations has due_at; the approval request matters only once decided
            agg = agg.where(ev.c.stage_run_id == R.c.id, or_(R.c.due_at.is_not(None), R.c.decided_at.is_not(None)),
                            ev.c.type.in_(("sla.reminder", "sla.escalated", "stage.status"))).lateral()
            frm = frm.outerjoin(agg, literal(True))
        rem, esc, asked = func.coalesce(agg.c.rem, 0), func.coalesce(agg.c.esc, 0), agg.c.asked
    else:
        def n_events(type_):
            return (select(func.count()).select_from(ev).where(ev.c.stage_run_id == R.c.id, ev.c.type == type_)
                    .scalar_subquery())

        has_sla = R.c.due_at.is_not(None)
        rem = case((has_sla, n_events("sla.reminder")), else_=0)
        esc = case((has_sla, n_events("sla.escalated")), else_=0)
        asked = corr_asked()
    appr = case((R.c.decided_at.is_not(None), _secs(asked, R.c.decided_at)))
    return (select(R.c.process_id, R.c.version_id, variant.label("variant_id"),
                   R.c.stage_key, R.c.ready_at.label("t"), R.c.status, R.c.active_seconds, R.c.due_at,
                   func.coalesce(R.c.finished_at, now).label("fin"),
                   case((and_(R.c.status == "completed", R.c.started_at.is_not(None)),
                         _secs(R.c.started_at, R.c.finished_at))).label("cycle"),
                   case((R.c.started_at.is_not(None), _secs(R.c.ready_at, R.c.started_at))).label("wait"),
                   rem.label("rem"), esc.label("esc"), appr.label("appr"), R.c.approval_status)
            .select_from(frm).where(*where))


def _visit_aggs(s):
    return [func.count().label("started"),
            func.count(case((s.c.outcome == "completed", 1))).label("completed"),
            func.count(case((s.c.outcome == "moved", 1))).label("moved"),
            func.count(case((s.c.outcome == "cancelled", 1))).label("cancelled"),
            func.count(s.c.lead).label("lead_n"), func.coalesce(func.sum(s.c.lead), 0).label("lead_sum")]


def _run_aggs(s):
    return [func.count().label("runs"),
            func.count(case((s.c.status == "completed", 1))).label("runs_completed"),
            func.count(case((s.c.status == "failed", 1))).label("runs_failed"),
            func.coalesce(func.sum(s.c.active_seconds), 0).label("staff_seconds"),
            func.count(case((s.c.active_seconds > 0, 1))).label("worked"),
            func.count(s.c.cycle).label("cycle_n"), func.coalesce(func.sum(s.c.cycle), 0).label("cycle_sum"),
            func.count(s.c.wait).label("wait_n"), func.coalesce(func.sum(s.c.wait), 0).label("wait_sum"),
            func.count(s.c.due_at).label("with_sla"),
            func.count(case((s.c.due_at < s.c.fin, 1))).label("breached"),
            func.coalesce(func.sum(s.c.rem), 0).label("reminders"),
            func.coalesce(func.sum(s.c.esc), 0).label("escalations"),
            func.count(s.c.appr).label("appr_n"), func.coalesce(func.sum(s.c.appr), 0).label("appr_sum"),
            func.count(case((and_(s.c.appr.is_not(None), s.c.approval_status == "approved"), 1))).label("approved"),
            func.count(case((and_(s.c.appr.is_not(None), s.c.approval_status == "rejected"), 1))).label("rejected")]


def histogram(s, measures, group):
    """(group…, measure, bucket, n): one pass over `s`, each row paired with every measure."""
    ms = union_all(*[select(literal(m).label("measure")) for m in measures]).subquery() if len(measures) > 1 \
        else select(literal(measures[0]).label("measure")).subquery()
    v = case(*[(ms.c.measure == m, s.c[m]) for m in measures])
    u = (select(*group(s), ms.c.measure, bucket_of(v).label("bucket")).select_from(s.join(ms, literal(True)))
         .where(v.is_not(None)).subquery())
    g = [u.c[c.key] for c in group(s)]
    return select(*g, u.c.measure, u.c.bucket, func.count().label("n")).group_by(*g, u.c.measure, u.c.bucket)


KINDS = {"visit": (_visit_rows, _visit_aggs, ("lead",)), "run": (_run_rows, _run_aggs, ("cycle", "wait", "appr"))}


# --- write side ------------------------------------------------------------------------------------

def _recompute_hours(kind: str, where, watermark: datetime, bulk: bool = False) -> None:
    rows, aggs, measures = KINDS[kind]
    closed = (V.c.left_at < watermark) if kind == "visit" else (R.c.finished_at < watermark)
    s = (rows([*where, closed], watermark, bulk) if kind == "run" else rows([*where, closed], watermark)).subquery()
    hs = (rows([*where, closed], watermark, events=False) if kind == "run" else s)
    hs = hs.subquery() if kind == "run" else hs

    def group(src):
        return [_trunc(src.c.t, "hour").label("period_start"), *[src.c[k] for k in KEYS]]

    def group_h(src):
        return [src.c[k] for k in ("period_start", *KEYS)]

    g = group(s)
    agg = select(literal("hour").label("grain"), *g, *aggs(s)).group_by(*g)
    names = ["grain", "period_start", *KEYS, *[c.name for c in aggs(s)]]
    db.session.execute(insert(MR).from_select(names, agg))
    hg = group(hs)
    inner = select(*hg, *[hs.c[m] for m in measures]).subquery()
    h = histogram(inner, measures, group_h).subquery()
    db.session.execute(insert(MH).from_select(
        ["grain", "period_start", *KEYS, "measure", "bucket", "n"],
        select(literal("hour"), h.c.period_start, *[h.c[k] for k in KEYS], h.c.measure, h.c.bucket, h.c.n)))


def _resum_days(where_hour) -> None:
    """Day rows = sums of their hour rows."""
    day = _trunc(MR.c.period_start, "day")
    db.session.execute(insert(MR).from_select(
        ["grain", "period_start", *KEYS, *COUNT_COLUMNS],
        select(literal("day"), day, *[MR.c[k] for k in KEYS], *[func.sum(MR.c[c]) for c in COUNT_COLUMNS])
        .where(MR.c.grain == "hour", *where_hour(MR)).group_by(day, *[MR.c[k] for k in KEYS])))
    hday = _trunc(MH.c.period_start, "day")
    db.session.execute(insert(MH).from_select(
        ["grain", "period_start", *KEYS, "measure", "bucket", "n"],
        select(literal("day"), hday, *[MH.c[k] for k in KEYS], MH.c.measure, MH.c.bucket, func.sum(MH.c.n))
        .where(MH.c.grain == "hour", *where_hour(MH))
        .group_by(hday, *[MH.c[k] for k in KEYS], MH.c.measure, MH.c.bucket)))


def floor_to(t: datetime, step: timedelta) -> datetime:
    if step == DAY:
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def rebuild(since: datetime | None = None, now: datetime | None = None) -> dict:
    """Recompute every hour/day from `since` (default: the first visit) up to now."""
    w = now or clock.now()
    if since is None:
        first = db.session.scalar(select(func.min(V.c.entered_at)))
        since = first or w
    since = floor_to(since, DAY)
    st = state()
    if st is not None and since > st.since:
        refresh(now=w)        # bring the older part to the same watermark first
    for t in (MR, MH):
        db.session.execute(delete(t).where(t.c.period_start >= since))
    _recompute_hours("visit", [V.c.entered_at >= since], w)
    _recompute_hours("run", [R.c.ready_at >= since], w, bulk=True)
    _resum_days(lambda t: [t.c.period_start >= since])
    _set_state(since, w)
    db.session.commit()
    return {"since": since.isoformat(), "watermark": w.isoformat(), "mode": "rebuild"}


def _set_state(since: datetime, w: datetime) -> None:
    st = db.session.get(MetricRollupState, STATE_KEY)
    if st is None:
        db.session.add(MetricRollupState(key=STATE_KEY, since=since, watermark=w))
    else:
        st.since, st.watermark = min(st.since, since), w
    db.session.flush()


def refresh(now: datetime | None = None) -> dict:
    """Incremental: recompute the (Process, hour)s with a visit/run closed since the last watermark."""
    w = now or clock.now()
    st = db.session.get(MetricRollupState, STATE_KEY)
    if st is None:
        return rebuild(now=w)
    prev = st.watermark
    hour_v, hour_r = _trunc(V.c.entered_at, "hour"), _trunc(R.c.ready_at, "hour")
    dirty = set(db.session.execute(select(V.c.process_id, hour_v).where(
        V.c.left_at >= prev, V.c.left_at < w, V.c.entered_at >= st.since).distinct()).all())
    dirty |= set(db.session.execute(select(R.c.process_id, hour_r).where(
        R.c.finished_at >= prev, R.c.finished_at < w, R.c.ready_at >= st.since).distinct()).all())
    days = set()
    for pid, h in dirty:
        h = h if isinstance(h, datetime) else datetime.fromisoformat(h)
        for t in (MR, MH):
            db.session.execute(delete(t).where(t.c.grain == "hour", t.c.process_id == pid, t.c.period_start == h))
        _recompute_hours("visit", [V.c.process_id == pid, V.c.entered_at >= h, V.c.entered_at < h + HOUR], w)
        _recompute_hours("run", [R.c.process_id == pid, R.c.ready_at >= h, R.c.ready_at < h + HOUR], w)
        days.add((pid, floor_to(h, DAY)))
    for pid, d in days:
        for t in (MR, MH):
            db.session.execute(delete(t).where(t.c.grain == "day", t.c.process_id == pid, t.c.period_start == d))
        _resum_days(lambda t, pid=pid, d=d: [t.c.process_id == pid, t.c.period_start >= d, t.c.period_start < d + DAY])
    _set_state(st.since, w)
    db.session.commit()
    return {"hours": len(dirty), "days": len(days), "watermark": w.isoformat(), "mode": "incremental"}


# --- read side -------------------------------------------------------------------------------------

def state() -> MetricRollupState | None:
    return db.session.get(MetricRollupState, STATE_KEY)
