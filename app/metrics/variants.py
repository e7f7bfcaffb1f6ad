"""Figures of a Split's variants side by side (the A/B view's inputs), computed in SQL."""
from __future__ import annotations

from sqlalchemy import case, func, literal, select

from app.extensions import db
from app.metrics.sql import Filters, R, V, lead_time_values, percentiles, sql, visit_where

# --- A/B: variants of a Split side by side ----------------------------------------------------

def variant_outcomes(f: Filters, variant_ids: list[int]) -> dict[int, dict]:
    """Per variant: visits finished (completed + routed away) and completed, in the variant's Process."""
    g = dict(f.__dict__)
    g["variant_id"] = None
    base = Filters(**g)
    stmt = (select(V.c.variant_id, func.count(case((V.c.outcome.in_(("completed", "moved")), 1))).label("finished"),
                   func.count(case((V.c.outcome == "completed", 1))).label("completed"),
                   func.count().label("started"))
            .where(V.c.variant_id.in_(variant_ids), *visit_where(base)).group_by(V.c.variant_id))
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
