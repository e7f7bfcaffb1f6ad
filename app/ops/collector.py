"""The series read when /metrics is scraped: RQ queues and failed jobs, the workers' shared counters
(jobs per type, Stage transitions per Process: kept in Redis by app.infra.telemetry), SLA timers, the
age of the latest periodic runs (sweep, rollup, outbox, purge), the outbox backlog. Computed from
Redis and the database at most once per CACHE_SECONDS per process (a few cheap indexed queries),
then served with the process's own series (requests, latency, Socket.IO connections)."""
from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app import clock
from app.extensions import db
from app.infra import queue as jobs_queue
from app.infra import telemetry
from app.infra.redis import connection
from app.models import Outbox, PeriodicLease, Process, StageTimer
from app.ops.checks import Cached

CACHE_SECONDS = 5
TIMER_LATE_SECONDS = 60    # an unfired timer this far past its due time is overdue (the sweep is behind)


def _redis_families() -> tuple[list, dict]:
    conn = connection()
    depth = GaugeMetricFamily("procly_rq_queue_jobs", "Jobs waiting in an RQ queue", labels=["queue"])
    failed = GaugeMetricFamily("procly_rq_failed_jobs", "Jobs in an RQ queue's failed registry", labels=["queue"])
    scheduled = GaugeMetricFamily("procly_rq_scheduled_jobs", "Delayed jobs (timers) waiting in RQ", labels=["queue"])
    for name in jobs_queue.QUEUES:
        q = Queue(name, connection=conn)
        depth.add_metric([name], q.count)
        failed.add_metric([name], FailedJobRegistry(queue=q).count)
        scheduled.add_metric([name], ScheduledJobRegistry(queue=q).count)
    workers = GaugeMetricFamily("procly_rq_workers", "RQ workers registered in Redis", value=Worker.count(connection=conn))
    age = telemetry.heartbeat_age(conn)
    beat = GaugeMetricFamily("procly_worker_heartbeat_age_seconds", "Seconds since a worker last said it lives",
                             value=age if age is not None else float("inf"))
    jobs = CounterMetricFamily("procly_jobs", "Jobs run by the workers, per job type and outcome",
                               labels=["job_type", "outcome"])
    for field, n in sorted(telemetry.read_hash(conn, telemetry.JOBS_KEY).items()):
        kind, _, outcome = field.partition("|")
        jobs.add_metric([kind, outcome], n)
    seconds = CounterMetricFamily("procly_job_seconds", "Seconds workers spent running jobs, per job type",
                                  labels=["job_type"])
    for kind, n in sorted(telemetry.read_hash(conn, telemetry.JOB_SECONDS_KEY).items()):
        seconds.add_metric([kind], n)
    return [depth, failed, scheduled, workers, beat, jobs, seconds], telemetry.read_hash(conn, telemetry.TRANSITIONS_KEY)


def _transitions(raw: dict[str, float]) -> CounterMetricFamily:
    names = dict(db.session.execute(select(Process.id, Process.name)).all()) if raw else {}
    family = CounterMetricFamily("procly_stage_transitions", "Stage Run transitions, per Process and new status",
                                 labels=["process", "status"])
    for field, n in sorted(raw.items()):
        process_id, _, status = field.partition("|")
        name = names.get(int(process_id)) if process_id.isdigit() else None
        family.add_metric([name or f"process {process_id}", status], n)
    return family


def _database_families() -> list:
    now = clock.now()
    unfired = StageTimer.fired_at.is_(None)
    pending, due, overdue = db.session.execute(select(
        func.count(StageTimer.id),
        func.count(StageTimer.id).filter(StageTimer.due_at <= now),
        func.count(StageTimer.id).filter(StageTimer.due_at < now - timedelta(seconds=TIMER_LATE_SECONDS)),
    ).where(unfired)).one()
    timers = GaugeMetricFamily("procly_timers", "Unfired SLA timers: pending (all), due (should have fired), "
                               f"overdue (due more than {TIMER_LATE_SECONDS} s ago)", labels=["state"])
    for state, n in (("pending", pending), ("due", due), ("overdue", overdue)):
        timers.add_metric([state], n)
    backlog, oldest = db.session.execute(select(func.count(Outbox.id), func.min(Outbox.created_at))
                                         .where(Outbox.status == "pending")).one()
    failed_mail = db.session.scalar(select(func.count(Outbox.id)).where(Outbox.status == "failed"))
    outbox = GaugeMetricFamily("procly_outbox_messages", "Outbox deliveries by status", labels=["status"])
    outbox.add_metric(["pending"], backlog)
    outbox.add_metric(["failed"], failed_mail)
    oldest_age = GaugeMetricFamily("procly_outbox_oldest_pending_age_seconds", "Age of the oldest unsent delivery",
                                   value=(now - oldest).total_seconds() if oldest else 0)
    periodic = GaugeMetricFamily("procly_periodic_last_run_age_seconds",
                                 "Seconds since a periodic job (sweep, outbox, rollup, purge) last finished",
                                 labels=["job"])
    for name, finished in db.session.execute(select(PeriodicLease.name, PeriodicLease.finished_at)).all():
        periodic.add_metric([name], (now - finished).total_seconds() if finished else float("inf"))
    return [timers, outbox, oldest_age, periodic]


def scrape() -> list:
    """Every shared series; a source that cannot be reached is reported by procly_scrape_ok, not raised."""
    families, ok = [], GaugeMetricFamily("procly_scrape_ok", "1 if the source answered this scrape", labels=["source"])
    raw: dict = {}
    try:
        redis_families, raw = _redis_families()
        families += redis_families
        ok.add_metric(["redis"], 1)
    except RedisError:
        ok.add_metric(["redis"], 0)
    try:
        families += _database_families()
        families.append(_transitions(raw))
        ok.add_metric(["database"], 1)
    except SQLAlchemyError:
        db.session.rollback()
        ok.add_metric(["database"], 0)
    finally:
        db.session.remove()
    lost = CounterMetricFamily("procly_lost_after_commit", "Jobs or messages this process could not hand to Redis "
                               "after COMMIT (the sweep re-creates jobs)", labels=["kind"])
    for kind, n in jobs_queue.LOST.items():
        lost.add_metric([kind], n)
    return [*families, ok, lost]


class AppCollector:
    """This process's series plus the shared ones, in the app's context (scrapes may come from the
    separate metrics server thread, which has none)."""

    def __init__(self, app):
        self.app, self.cache = app, Cached(CACHE_SECONDS)

    def collect(self):
        with self.app.app_context():
            yield from self.cache.get(scrape)
        yield from telemetry.REGISTRY.collect()


def registry_for(app) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(app))
    return registry
