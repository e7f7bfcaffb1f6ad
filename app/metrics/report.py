"""Filters from request arguments, the dashboard payload, and each chart as a flat table (CSV)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app import clock, exports
from app.errors import Invalid, NotFound
from app.extensions import db
from app.metrics import ai
from app.metrics import queries as q
from app.models import Process, Split, SplitVariant, Version
from app.lookups import find_process
from app.metrics import rollup_read
from app.metrics.names import label

CHARTS = ("throughput", "lead_times", "stages", "wip", "rates", "routes")


def _parse_time(name: str, raw: str | None, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("The request is invalid: see details.", {name: ["not an ISO date or date-time"]})
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if end and len(raw) == 10:      # a date "to" includes that whole day
        value += timedelta(days=1)
    return value


def filters_from(args: dict) -> q.Filters:
    """process (key), version (number, with process), variant (SplitVariant id), stage (key),
    from / to (ISO date or date-time; default: today and the 6 days before, q.default_period), bucket (day | hour)."""
    now = clock.now()
    f = q.Filters(now=now)
    if args.get("process"):
        proc = find_process(args["process"])
        if proc is None:
            raise NotFound(f'No Process "{args["process"]}".')
        f.process_id = proc.id
        if args.get("version") not in (None, ""):
            vid = db.session.scalar(select(Version.id).where(Version.process_id == proc.id,
                                                             Version.number == int(args["version"])))
            if vid is None:
                raise NotFound(f'Process "{proc.key}" has no Version {args["version"]}.')
            f.version_id = vid
    if args.get("variant") not in (None, ""):
        f.variant_id = int(args["variant"])
    f.stage_key = args.get("stage") or None
    f.start = _parse_time("from", args.get("from"))
    f.end = _parse_time("to", args.get("to"), end=True)
    if f.start is None and f.end is None:
        f.start, f.end = q.default_period(now)
    if f.start and f.end and f.start >= f.end:
        raise Invalid("The request is invalid: see details.", {"from": ["must be before to"]})
    f.bucket = "hour" if args.get("bucket") == "hour" else "day"
    return f


def describe(f: q.Filters) -> dict:
    return {"process_id": f.process_id, "version_id": f.version_id, "variant_id": f.variant_id,
            "stage": f.stage_key, "from": clock.iso(f.start), "to": clock.iso(f.end), "bucket": f.bucket}


def dashboard(f: q.Filters) -> dict:

    with rollup_read.shared():
        return _dashboard(f)


def _dashboard(f: q.Filters) -> dict:
    s = q.summary(f)
    return label({"filters": describe(f), "summary": {k: v for k, v in s.items() if k != "stages"},
                  "stages": s["stages"], "throughput": q.throughput(f), "lead_times": q.lead_time_by_version(f),
                  "routes": q.routes(f), "ai": ai.usage(f)}, f.process_id)


def options() -> dict:
    """What the filters can choose from."""
    procs = db.session.scalars(select(Process).order_by(Process.name)).all()
    versions = db.session.execute(select(Version.process_id, Version.number, Version.definition)
                                  .order_by(Version.process_id, Version.number)).all()
    by_proc: dict[int, list] = {}
    stages: dict[int, list] = {}
    stage_names: dict[int, dict] = {}
    for pid, number, definition in versions:
        by_proc.setdefault(pid, []).append(number)
        for st in (definition or {}).get("stages", []):
            if st.get("key") and st["key"] not in stages.setdefault(pid, []):
                stages[pid].append(st["key"])
            if st.get("key"):
                stage_names.setdefault(pid, {})[st["key"]] = st.get("name") or st["key"]
    splits = db.session.scalars(select(Split).order_by(Split.name)).all()
    # a manager's first question is usually about the Process under an A/B test
    tested = next((s.variants[0].process.key for s in splits if s.variants), None)
    return {
        "default_process": tested or (procs[0].key if procs else None),
        "processes": [{"id": p.id, "key": p.key, "name": p.name, "versions": by_proc.get(p.id, []),
                       "stages": stages.get(p.id, []), "stage_names": stage_names.get(p.id, {})} for p in procs],
        "splits": [{"key": s.key, "name": s.name,
                    "variants": [{"id": v.id, "key": v.key, "process": v.process.key} for v in s.variants]}
                   for s in splits],
    }


def _pct(d: dict | None, prefix: str) -> dict:
    d = d or {}
    return {f"{prefix}_{k}": d.get(k) for k in ("p50", "p90", "p95", "avg", "n")}


def chart_rows(chart: str, data: dict) -> list[dict]:
    """One chart's numbers as rows: what the "table" toggle shows and the CSV holds."""
    if chart == "throughput":
        return data["throughput"]
    if chart == "lead_times":
        return [{"version": r["label"], **_pct(r, "lead_seconds")} for r in data["lead_times"]]
    if chart == "stages":
        return [{"stage": r["stage_key"], "stage_name": r.get("stage_name"), "rank": r["rank_time"], "time_share": r["time_share"],
                 **_pct(r["cycle"], "cycle_seconds"), **_pct(r["wait"], "wait_seconds"),
                 "staff_seconds": r["staff_seconds"], "staff_seconds_avg": r["staff_seconds_avg"]}
                for r in data["stages"]]
    if chart == "wip":
        return [{"stage": r["stage_key"], "stage_name": r.get("stage_name"), "wip": r["wip"], "queued": r["queued"], "rank_queue": r["rank_queue"]}
                for r in sorted(data["stages"], key=lambda r: r["rank_queue"])]
    if chart == "rates":
        return [{"stage": r["stage_key"], "stage_name": r.get("stage_name"), "runs": r["runs"], "failed": r["failed"], "error_rate": r["error_rate"],
                 "with_sla": (r["sla"] or {}).get("with_sla", 0), "sla_breached": (r["sla"] or {}).get("breached", 0),
                 "sla_breach_rate": (r["sla"] or {}).get("breach_rate"),
                 "reminders": (r["sla"] or {}).get("reminders", 0),
                 "escalations": (r["sla"] or {}).get("escalations", 0),
                 "approval_p50_seconds": (r["approval"] or {}).get("p50")} for r in data["stages"]]
    if chart == "routes":
        return [{"process": r["process"], "route": r["route_key"], "route_name": r.get("route_name"),
                 "target_process": r["target_process"],
                 "count": r["count"]} for r in data["routes"]]
    raise NotFound(f'No chart "{chart}"; charts: {", ".join(CHARTS)}.')


def to_csv(rows: list[dict]) -> str:
    return exports.dicts_to_csv(rows)


def variant_exists(variant_id: int) -> bool:
    return db.session.get(SplitVariant, variant_id) is not None
