"""Metric rollups: per (grain, period, Process, Version, variant, Stage) counts, sums and a fixed
log-scale duration histogram, maintained by app.metrics.rollup (see docs/performance.md, Dashboards).

stage_key '' holds the visit-level figures (Tasks started/completed/…, lead time); other rows are
Stage Runs. Only *closed* visits/runs (left / finished before the state's watermark) are rolled up;
open ones and ones closed after the watermark are read live through the indexes declared below."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, PrimaryKeyConstraint, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.tasks import StageRun, TaskVisit

COUNT_COLUMNS = (
    # visit rows (stage_key = '')
    "started", "completed", "moved", "cancelled", "lead_n", "lead_sum",
    # Stage Run rows
    "runs", "runs_completed", "runs_failed", "staff_seconds", "worked", "cycle_n", "cycle_sum", "wait_n",
    "wait_sum", "with_sla", "breached", "reminders", "escalations", "appr_n", "appr_sum", "approved", "rejected",
)
FLOAT_COLUMNS = {"lead_sum", "staff_seconds", "cycle_sum", "wait_sum", "appr_sum"}


class MetricRollup(db.Model):
    __tablename__ = "metric_rollups"
    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(4))            # hour | day
    period_start: Mapped[datetime]
    process_id: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[int] = mapped_column(Integer, default=0)     # 0: no Split variant
    stage_key: Mapped[str] = mapped_column(String(64), default="")  # '': visit-level row
    started: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    moved: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    lead_n: Mapped[int] = mapped_column(default=0)
    lead_sum: Mapped[float] = mapped_column(Float, default=0)
    runs: Mapped[int] = mapped_column(default=0)
    runs_completed: Mapped[int] = mapped_column(default=0)
    runs_failed: Mapped[int] = mapped_column(default=0)
    staff_seconds: Mapped[float] = mapped_column(Float, default=0)
    worked: Mapped[int] = mapped_column(default=0)
    cycle_n: Mapped[int] = mapped_column(default=0)
    cycle_sum: Mapped[float] = mapped_column(Float, default=0)
    wait_n: Mapped[int] = mapped_column(default=0)
    wait_sum: Mapped[float] = mapped_column(Float, default=0)
    with_sla: Mapped[int] = mapped_column(default=0)
    breached: Mapped[int] = mapped_column(default=0)
    reminders: Mapped[int] = mapped_column(default=0)
    escalations: Mapped[int] = mapped_column(default=0)
    appr_n: Mapped[int] = mapped_column(default=0)
    appr_sum: Mapped[float] = mapped_column(Float, default=0)
    approved: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        UniqueConstraint("grain", "period_start", "process_id", "version_id", "variant_id", "stage_key",
                         name="uq_metric_rollups_key"),
        Index("ix_metric_rollups_process", "process_id", "grain", "period_start"),
        # the A/B panel: a Split's variants across Processes, per day
        Index("ix_metric_rollups_variant", "variant_id", "grain", "period_start",
              postgresql_where=text("variant_id <> 0"), sqlite_where=text("variant_id <> 0")),
    )


class MetricRollupHist(db.Model):
    """Duration histogram: n values of `measure` (lead | cycle | wait | appr) fell in `bucket`
    (app.metrics.rollup.bucket_bounds)."""
    __tablename__ = "metric_rollup_hist"
    grain: Mapped[str] = mapped_column(String(4))
    period_start: Mapped[datetime]
    process_id: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[int] = mapped_column(Integer, default=0)
    stage_key: Mapped[str] = mapped_column(String(64), default="")
    measure: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        PrimaryKeyConstraint("grain", "period_start", "process_id", "version_id", "variant_id", "stage_key",
                             "measure", "bucket", name="pk_metric_rollup_hist"),
        # measure before period: a read wants the visit ('lead') or the Stage Run measures, never both
        Index("ix_metric_rollup_hist_read", "process_id", "grain", "measure", "period_start"),
        Index("ix_metric_rollup_hist_variant", "variant_id", "grain", "measure", "period_start",
              postgresql_where=text("variant_id <> 0"), sqlite_where=text("variant_id <> 0")),
    )


class MetricRollupState(db.Model):
    """One row per rollup ('metrics'): every visit/run closed before `watermark` whose period is
    >= `since` is in the rollup tables."""
    __tablename__ = "metric_rollup_state"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    since: Mapped[datetime]
    watermark: Mapped[datetime]


# Indexes the live part of a rolled-up query reads (declared here, owned by the metrics rollup):
# rows closed after the watermark, and open visits of a Process in a period.
Index("ix_stage_runs_finished", StageRun.__table__.c.finished_at)
Index("ix_task_visits_left", TaskVisit.__table__.c.left_at)
Index("ix_task_visits_open", TaskVisit.__table__.c.process_id, TaskVisit.__table__.c.entered_at,
      postgresql_where=TaskVisit.__table__.c.left_at.is_(None), sqlite_where=TaskVisit.__table__.c.left_at.is_(None))
Index("ix_stage_runs_open_ready", StageRun.__table__.c.process_id, StageRun.__table__.c.ready_at,
      postgresql_where=StageRun.__table__.c.finished_at.is_(None), sqlite_where=StageRun.__table__.c.finished_at.is_(None))
