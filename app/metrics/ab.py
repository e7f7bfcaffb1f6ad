"""A/B comparison of a Split's variants: outcome rate, lead time, an optional Stage metric, verdict."""
from __future__ import annotations

from dataclasses import replace

from app.errors import NotFound
from app.metrics import queries as q
from app.metrics import stats
from app.lookups import find_split
from app.metrics import rollup_read
from app.metrics.stage_runs import pct_from


def rolled(acc: rollup_read.Acc) -> tuple[dict, dict, dict]:
    """Per variant from the rollup (app.metrics.rollup_read, kind 'variant'): the outcome counts (exact),
    the lead-time percentiles (from the log histogram, within its 4.4 % bound) and that histogram
    (the Mann-Whitney ranks: one bucket = one group of ties)."""
    outcomes, leads, hists = {}, {}, {}
    for (vid,), c in acc.counts.items():
        outcomes[vid] = {"finished": int(c["completed"]) + int(c["moved"]), "completed": int(c["completed"]),
                         "started": int(c["started"])}
        hist = acc.hist.get((vid,), {})
        hists[vid] = hist.get("lead", {})
        if c["lead_n"]:
            leads[vid] = pct_from(c, hist, "lead")
    return outcomes, leads, hists


def compare(split_key: str, f: q.Filters, stage_key: str | None = None) -> dict:
    split = find_split(split_key)
    if split is None:
        raise NotFound(f'No Split "{split_key}".')
    variants = list(split.variants)
    ids = [v.id for v in variants]
    f = replace(f, variant_id=None, process_id=None, version_id=None, stage_key=None)
    acc = rollup_read.figures(f, "variant", ids)
    if acc is None:     # no rollup for the period (or exact=True): the raw visits
        outcomes, leads = q.variant_outcomes(f, ids), q.variant_lead_times(f, ids)

        def ranks(a: int, b: int) -> dict | None:
            return q.rank_sums(f, a, b)
    else:
        outcomes, leads, hists = rolled(acc)

        def ranks(a: int, b: int) -> dict | None:
            return stats.rank_sums_from_hist(hists.get(a, {}), hists.get(b, {}))
    empty_lead = {"p50": None, "p90": None, "p95": None, "avg": None, "n": 0}
    rows = []
    for v in variants:
        o = outcomes.get(v.id, {"finished": 0, "completed": 0, "started": 0})
        w = stats.wilson(o["completed"], o["finished"])
        row = {"key": v.key, "variant_id": v.id, "process": v.process.key, "process_name": v.process.name,
               "version": v.version, "weight": v.weight, **o,
               "completion_rate": None if w is None else round(w[0], 4),
               "completion_ci": None if w is None else [round(w[1], 4), round(w[2], 4)],
               "routed_away": o["finished"] - o["completed"],
               "lead_time": leads.get(v.id, empty_lead)}
        if stage_key:
            st = {s["stage_key"]: s for s in q.stages(replace(f, variant_id=v.id, stage_key=stage_key))}
            s = st.get(stage_key)
            row["stage"] = None if s is None else {"stage_key": stage_key, "cycle": s["cycle"], "wait": s["wait"],
                                                   "error_rate": s["error_rate"], "runs": s["runs"]}
        rows.append(row)
    comparisons = []
    if rows:
        base = rows[0]
        for other in rows[1:]:
            rs = ranks(base["variant_id"], other["variant_id"])
            mw = stats.mann_whitney(rs["n1"], rs["n2"], rs["rank_sum1"], rs["tie_term"]) if rs else None
            v = stats.verdict(base["process_name"], other["process_name"],
                              {"completed": base["completed"], "finished": base["finished"],
                               "lead_p50": base["lead_time"]["p50"]},
                              {"completed": other["completed"], "finished": other["finished"],
                               "lead_p50": other["lead_time"]["p50"], "mw": mw})
            d = v["diff"]
            comparisons.append({
                "base": base["key"], "variant": other["key"], "verdict": v["text"],
                "more_tasks_needed": v["more_tasks_needed"],
                "rate_diff": None if d is None else {k: round(d[k], 4) for k in ("diff", "low", "high", "p_value")},
                "lead_time_test": None if mw is None else {"u": mw["u1"], "z": round(mw["z"], 4),
                                                            "p_value": round(mw["p_value"], 4)},
            })
    return {"split": split.key, "name": split.name, "variants": rows, "comparisons": comparisons}
