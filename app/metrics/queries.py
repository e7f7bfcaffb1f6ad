"""Dashboard figures as SQL aggregations, in one namespace (`from app.metrics import queries as q`):
the building blocks in `sql`, visits in `visits`, Stage Runs in `stage_runs`, A/B in `variants`."""
from app.metrics.sql import PERCENTILES, Filters, default_period, lead_time_values, percentiles, seconds_between, sql
from app.metrics.stage_runs import (approvals, cycle_times, sla, sla_fired, sla_timers, stage_counts, stages,
                                    wait_times, wip)
from app.metrics.variants import active_wip, rank_sums, variant_lead_times, variant_outcomes
from app.metrics.visits import (lead_time, lead_time_by_version, routes, sla_events, summary, throughput,
                                visit_counts)

__all__ = ["PERCENTILES", "Filters", "default_period", "percentiles", "seconds_between", "sql", "visit_counts", "lead_time",
           "lead_time_values", "lead_time_by_version", "throughput", "routes", "stage_counts", "wip", "cycle_times",
           "wait_times", "sla", "approvals", "stages", "summary", "sla_events", "sla_fired", "sla_timers",
           "variant_outcomes", "variant_lead_times", "rank_sums", "active_wip"]
