"""Reading the metric rollups (app.metrics.rollup writes them): a period [S, E) is split into raw
edges (read exactly), whole days (day rows), remaining whole hours (hour rows), and the *live* rows the
rollup cannot hold: open ones and ones closed at/after the watermark. Counts and sums are exact;
percentiles come from the merged log histograms (percentiles_from). Statements are built once per
filter shape (bind parameters), and the rollup rows' part is kept in process memory keyed by the
counts it was built from (see _rolled)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import DateTime, Integer, bindparam, case, cast, func, null, select, union_all

from app.extensions import db
from app.metrics.sql import sql
from app.metrics.rollup import (DAY, HOUR, KINDS, MH, MR, RUN_COLS, VISIT_COLS, R, V, floor_to, histogram, bucket_bounds,
                                state)
from app.models import MetricRollupState
from app.models.rollups import COUNT_COLUMNS, FLOAT_COLUMNS
from app.models import Process


def _ceil(t: datetime, step: timedelta) -> datetime:
    f = floor_to(t, step)
    return f if f == t else f + step


def plan(start: datetime, end: datetime, st: MetricRollupState) -> dict | None:
    """Split [start, end) into raw edges, day and hour spans of the rollup and the `core` span whose open
    (or closed at/after the watermark) rows are read live; None = read raw.
    A period reaching the watermark (the usual "up to now") needs no raw tail: nothing ready at or after
    `end` can have closed before the watermark, so the last (partial) day's row holds exactly what the
    rollup knows of it, and the rest is live."""
    s_h = _ceil(start, HOUR)
    to_now = end >= st.watermark
    e_h = _ceil(end, HOUR) if to_now else floor_to(end, HOUR)
    if s_h >= e_h or s_h < st.since:
        return None
    s_d = _ceil(s_h, DAY)
    e_d = _ceil(e_h, DAY) if to_now else floor_to(e_h, DAY)
    if s_d < e_d:
        days, hours = [(s_d, e_d)], [(s_h, s_d), (e_d, e_h)]
    else:
        days, hours = [], [(s_h, e_h)]
    raw = [(start, s_h)] + ([] if to_now else [(e_h, end)])
    return {"raw": [x for x in raw if x[0] < x[1]], "days": days, "hours": [x for x in hours if x[0] < x[1]],
            "core": (s_h, end if to_now else e_h)}


def _base(kind: str) -> str:
    """'variant' (A/B: visits keyed by Split variant) reads the visit rows."""
    return "visit" if kind == "variant" else kind


def _filter_where(t, shape: tuple, kind: str) -> list:
    """Rollup rows of `kind` under the filters' shape (values as bind parameters, see _params)."""
    has_process, has_version, has_variant, has_stage = shape
    w = [t.c.variant_id.in_(bindparam("variant_ids", expanding=True))] if kind == "variant" else []
    if has_process:
        w.append(t.c.process_id == bindparam("process_id"))
    if has_version:
        w.append(t.c.version_id == bindparam("version_id"))
    if has_variant:
        w.append(t.c.variant_id == bindparam("variant_id"))
    if kind == "run" and has_stage:
        w.append(t.c.stage_key == bindparam("stage_key"))
    if t is MH:     # the measure tells visit rows from run rows (and keeps ix_metric_rollup_hist_read usable)
        w.append(t.c.measure.in_(KINDS[_base(kind)][2]))
    elif kind != "run":
        w.append(t.c.stage_key == "")
    elif not has_stage:
        w.append(t.c.stage_key != "")
    return w


def _shape(f) -> tuple:
    """Which filters are set: with the number of raw spans, all a raw/live statement's SQL depends on."""
    return (f.process_id is not None, f.version_id is not None, f.variant_id is not None, bool(f.stage_key))


def _raw_where(kind: str, shape: tuple, span: str) -> list:
    """Rows of `kind` ready/entered in [lo_<span>, hi_<span>) under the filters' shape, as bind
    parameters (values from _params): the statement is built and compiled once per shape."""
    t = R if kind == "run" else V
    col = R.c.ready_at if kind == "run" else V.c.entered_at
    has_process, has_version, has_variant, has_stage = shape
    w = [col >= bindparam(f"lo_{span}", type_=DateTime()), col < bindparam(f"hi_{span}", type_=DateTime())]
    # every Process, listed: the (process_id, entered_at / ready_at) indexes serve the period
    w.append(t.c.process_id == bindparam("process_id") if has_process
             else t.c.process_id.in_(bindparam("process_ids", expanding=True)))
    if has_version:
        w.append(t.c.version_id == bindparam("version_id"))
    if has_variant:
        w.append(V.c.variant_id == bindparam("variant_id"))
    if kind == "variant":
        w.append(V.c.variant_id.in_(bindparam("variant_ids", expanding=True)))
    if kind == "run" and has_stage:
        w.append(R.c.stage_key == bindparam("stage_key"))
    return w


def _params(f, p: dict, st: MetricRollupState, variant_ids: tuple = ()) -> dict:
    params = {"now": f.now, "watermark": st.watermark, "lo_core": p["core"][0], "hi_core": p["core"][1],
              "process_id": f.process_id, "version_id": f.version_id, "variant_id": f.variant_id,
              "stage_key": f.stage_key, "variant_ids": list(variant_ids) or [0]}
    for i, (lo, hi) in enumerate(p["raw"]):
        params[f"lo_raw{i}"], params[f"hi_raw{i}"] = lo, hi
    if f.process_id is None:
        params["process_ids"] = sql(select(Process.id)).scalars().all() or [0]
    return params


@lru_cache(maxsize=64)
def _raw_statement(kind: str, shape: tuple, n_raw: int, dialect: str):   # dialect: part of the cache key
    """Counts and histograms of the raw edges and the live rows in ONE statement: the rows are computed
    once (a CTE read twice, which PostgreSQL materializes) and both aggregations come back as one
    UNION ALL, the histogram rows with `measure` set. Live = open, or closed at/after the watermark."""
    rows, aggs, measures = KINDS[_base(kind)]
    closed = R.c.finished_at if kind == "run" else V.c.left_at
    core = _raw_where(kind, shape, "core")
    where = [_raw_where(kind, shape, f"raw{i}") for i in range(n_raw)]
    where += [[*core, closed.is_(None)], [*core, closed >= bindparam("watermark", type_=DateTime())]]
    now = bindparam("now", type_=DateTime())
    kw = {"visits": shape[2]} if kind == "run" else {}
    s = union_all(*[rows(w, now, **kw) for w in where]).cte(f"raw_{kind}")
    g = _key_cols(s, kind)
    cols = aggs(s)
    if kind != "run":
        cols.append(func.count(case((s.c.left_at.is_(None), 1))).label("running"))
    counts = select(*g, *cols, *[null().label(c) for c in ("measure", "bucket", "n")]).group_by(*g)
    h = histogram(s, measures, lambda src: _key_cols(src, kind)).subquery()
    hist = select(*_key_cols(h, kind), *[null().label(c.name) for c in cols], h.c.measure, h.c.bucket, h.c.n)
    return union_all(counts, hist)


def _read_raw(acc: Acc, f, kind: str, p: dict, st: MetricRollupState, variant_ids: tuple = ()) -> None:
    stmt = _raw_statement(kind, _shape(f), len(p["raw"]), db.session.get_bind().dialect.name)
    n_key = len(KEY_COLS[kind])
    for row in sql(stmt, _params(f, p, st, variant_ids)):
        key, r = tuple(row[:n_key]), row._mapping
        if r["measure"] is not None:
            acc.add_hist(key, r["measure"], r["bucket"], r["n"])
            continue
        acc.add_counts(key, r)
        if kind != "run":
            acc.running += int(r["running"])


class Acc:
    """Merged figures per key (_key_cols: (process_id, version_id) for visits, (stage_key,) for runs)."""

    def __init__(self):
        self.counts: dict[tuple, dict] = {}
        self.hist: dict[tuple, dict[str, dict[int, int]]] = {}
        self.running: int = 0

    def copy(self) -> Acc:
        new = Acc()
        new.counts = {k: dict(v) for k, v in self.counts.items()}
        new.hist = {k: {m: dict(b) for m, b in ms.items()} for k, ms in self.hist.items()}
        new.running = self.running
        return new

    def add_counts(self, key, row):
        d = self.counts.setdefault(key, dict.fromkeys(COUNT_COLUMNS, 0))
        for c in COUNT_COLUMNS:
            if c in row and row[c] is not None:
                d[c] += float(row[c]) if c in FLOAT_COLUMNS else int(row[c])

    def add_hist(self, key, measure, bucket, n):
        h = self.hist.setdefault(key, {}).setdefault(measure, {})
        h[int(bucket)] = h.get(int(bucket), 0) + int(n)


KEY_COLS = {"visit": ("process_id", "version_id"), "run": ("stage_key",), "variant": ("variant_id",)}


def _key_cols(t, kind: str) -> list:
    """What an Acc is keyed by: visits per (Process, Version) (lead time per Version), Stage Runs per
    Stage key only (the Stage figures merge Processes and Versions), A/B visits per Split variant:
    SQL merges the rest."""
    return [t.c[c] for c in KEY_COLS[kind]]


@lru_cache(maxsize=64)
def _rollup_statements(kind: str, shape: tuple, dialect: str) -> tuple:   # dialect: part of the cache key
    """The rollup reads of one grain: counts per period in [:lo, :hi); histograms of the listed
    :periods, merged (by key) or per period."""
    g = _key_cols(MR, kind)
    cols = RUN_COLS if kind == "run" else VISIT_COLS
    counts = (select(MR.c.period_start, *g, *[func.sum(MR.c[c]).label(c) for c in cols])
              .where(MR.c.grain == bindparam("grain"), MR.c.period_start >= bindparam("lo", type_=DateTime()),
                     MR.c.period_start < bindparam("hi", type_=DateTime()), *_filter_where(MR, shape, kind))
              .group_by(MR.c.period_start, *g))
    where = [MH.c.grain == bindparam("grain"), MH.c.period_start.in_(bindparam("periods", expanding=True)),
             *_filter_where(MH, shape, kind)]
    hg = [*_key_cols(MH, kind), MH.c.measure, MH.c.bucket]
    merged = select(*hg, cast(func.sum(MH.c.n), Integer)).where(*where).group_by(*hg)
    per_period = select(MH.c.period_start, *hg, MH.c.n).where(*where)
    return counts, merged, per_period


_shared: ContextVar[dict | None] = ContextVar("metrics_rollup_shared", default=None)


@contextmanager
def shared():
    """Within the block, figures() for the same Filters and kind is computed once (one dashboard view
    asks for the visit figures twice: summary and lead time per Version)."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def figures(f, kind: str, variant_ids=()) -> Acc | None:
    """Merged counts and histograms of visits ('visit'), Stage Runs ('run') or the visits of the listed
    Split variants, per variant ('variant', the A/B panel) for the filters, or None when the period
    cannot use the rollup (no rollup yet, shorter than an hour, before `since`)."""
    variant_ids = tuple(variant_ids)
    cache = _shared.get()
    if cache is None:
        return _figures(f, kind, variant_ids)
    key = (kind, f.process_id, f.version_id, f.variant_id, f.stage_key, f.start, f.end, f.now, f.exact, variant_ids)
    if key not in cache:
        cache[key] = _figures(f, kind, variant_ids)
    return cache[key]


def _figures(f, kind: str, variant_ids: tuple = ()) -> Acc | None:
    if getattr(f, "exact", False) or f.start is None or f.end is None:
        return None
    cache = _shared.get()
    if cache is None:
        st = state()
    else:       # one look-up per dashboard view
        if "state" not in cache:
            cache["state"] = state()
        st = cache["state"]
    if st is None:
        return None
    p = plan(f.start, f.end, st)
    if p is None:
        return None
    acc = _rolled(f, kind, p, variant_ids)
    _read_raw(acc, f, kind, p, st, variant_ids)
    return acc


class _LRU:
    """A small thread-safe LRU map (per process)."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


# Sizes bound memory: an entry is one view's histograms (a few thousand buckets, ~0.1-0.5 MB), so a
# web process keeps at most a few tens of MB here.
_STABLE = _LRU(64)         # (kind, filters, the older periods with their counts rows) -> Acc
_RECENT = _LRU(256)        # (kind, filters, grain, period, its counts rows) -> {key: [(measure, bucket, n)]}


def _rolled(f, kind: str, p: dict, variant_ids: tuple = ()) -> Acc:
    """The rollup rows' part of a figure (day and hour spans), as a fresh Acc to add the live rows to.
    The counts of each period (day or hour) are read every time (one small statement a grain); they
    change whenever a visit/run of the period closes, so they identify its histogram, which is kept in
    process memory: the periods before the latest day merged into one Acc, the latest day's periods
    one by one (a refresh usually changes only those, so a dashboard re-reads one day, not seven)."""
    counts_stmt, merged_stmt, per_period_stmt = _rollup_statements(kind, _shape(f),
                                                                   db.session.get_bind().dialect.name)
    filters = {"process_id": f.process_id, "version_id": f.version_id, "variant_id": f.variant_id,
               "stage_key": f.stage_key, "variant_ids": variant_ids or (0,)}
    fvals = tuple(filters.values())
    n_key = len(KEY_COLS[kind])
    names = RUN_COLS if kind == "run" else VISIT_COLS
    periods: dict[tuple, tuple] = {}     # (grain, period_start) -> its counts rows
    for grain in ("day", "hour"):
        for lo, hi in p[f"{grain}s"]:
            for r in sql(counts_stmt, {"grain": grain, "lo": lo, "hi": hi, **filters}):
                periods[(grain, r[0])] = periods.get((grain, r[0]), ()) + (tuple(r[1:]),)
    if not periods:
        return Acc()
    latest = max(floor_to(ps, DAY) for _, ps in periods)
    stable = sorted(gp for gp in periods if gp[1] < latest)
    stable_key = (kind, fvals, tuple((gp, periods[gp]) for gp in stable))
    part = _STABLE.get(stable_key)
    if part is None:
        part = Acc()
        for gp in stable:
            for row in periods[gp]:
                part.add_counts(row[:n_key], dict(zip(names, row[n_key:])))
        for grain in ("day", "hour"):
            listed = [ps for g, ps in stable if g == grain]
            if listed:
                for r in sql(merged_stmt, {"grain": grain, "periods": listed, **filters}):
                    part.add_hist(tuple(r[:n_key]), *r[n_key:])
        _STABLE.put(stable_key, part)
    acc = part.copy()
    for gp in sorted(gp for gp in periods if gp[1] >= latest):
        for row in periods[gp]:
            acc.add_counts(row[:n_key], dict(zip(names, row[n_key:])))
        key = (kind, fvals, *gp, periods[gp])
        hist = _RECENT.get(key)
        if hist is None:
            hist = {}
            for r in sql(per_period_stmt, {"grain": gp[0], "periods": [gp[1]], **filters}):
                hist.setdefault(tuple(r[1:1 + n_key]), []).append(tuple(r[1 + n_key:]))
            _RECENT.put(key, hist)
        for k, entries in hist.items():
            for measure, bucket, n in entries:
                acc.add_hist(k, measure, bucket, n)
    return acc


def clear_cache() -> None:
    _STABLE.clear()
    _RECENT.clear()


def percentiles_from(hist: dict[int, int], ps) -> dict:
    """percentile_cont-style interpolation over a histogram: the value of 0-based rank r is placed
    geometrically inside its bucket ((i + .5) / count of the way through it)."""
    n = sum(hist.values())
    if not n:
        return {name: None for name, _ in ps}
    items = sorted(hist.items())

    def value(rank: int) -> float:
        cum = 0
        for b, c in items:
            if rank < cum + c:
                lo, hi = bucket_bounds(b)
                frac = (rank - cum + 0.5) / c
                return lo + frac * (hi - lo) if b == 0 else lo * (hi / lo) ** frac
            cum += c
        lo, hi = bucket_bounds(items[-1][0])
        return hi

    out = {}
    for name, p in ps:
        h = (n - 1) * p
        lo_r = int(h)
        v = value(lo_r)
        if h > lo_r:
            v += (h - lo_r) * (value(lo_r + 1) - v)
        out[name] = round(v, 3)
    return out
