"""AI Prompt usage on the dashboards: model calls, tokens (prompt and answer) and model time, summed
over the ModelCall rows of the period (created_at), the Process / Version / Stage filters applied.
A variant filter narrows to the Tasks of that variant."""
from __future__ import annotations

from sqlalchemy import func, select

from app.metrics.sql import Filters, num, sql
from app.models import ModelCall, Task

M = ModelCall.__table__


def usage(f: Filters) -> dict:
    where = []
    if f.process_id:
        where.append(M.c.process_id == f.process_id)
    if f.version_id:
        where.append(M.c.version_id == f.version_id)
    if f.stage_key:
        where.append(M.c.stage_key == f.stage_key)
    if f.start:
        where.append(M.c.created_at >= f.start)
    if f.end:
        where.append(M.c.created_at < f.end)
    if f.variant_id:
        where.append(M.c.task_id.in_(select(Task.id).where(Task.variant_id == f.variant_id)))
    row = sql(select(func.count().label("calls"), func.coalesce(func.sum(M.c.prompt_tokens), 0).label("prompt_tokens"),
                     func.coalesce(func.sum(M.c.completion_tokens), 0).label("completion_tokens"),
                     func.coalesce(func.sum(M.c.duration_ms), 0).label("duration_ms"),
                     func.count(func.distinct(M.c.stage_run_id)).label("runs")).where(*where)).one()
    return {"calls": int(row.calls), "runs": int(row.runs), "prompt_tokens": int(row.prompt_tokens),
            "completion_tokens": int(row.completion_tokens), "model_seconds": num(float(row.duration_ms) / 1000)}
