"""The scheduling half of `flask procly worker`, run by its supervising process (app.runtime.worker):

- RQ's own scheduler (`RQScheduler`) moves delayed jobs — SLA timers, retries with backoff — to
  their queue when their time comes. Its lock in Redis lets one scheduler per Redis do it; the
  others stand by and take over when that lock expires.
- RQ's `CronScheduler` enqueues each periodic job of app.runtime.periodic at its interval. Every
  supervisor runs one (the job's database lease picks the one worker that does the work).

Both are RQ's maintained classes; only the loop that drives them is ours, because theirs exits
on the first Redis error: `tick()` never raises, so a Redis outage or FLUSHALL only pauses them."""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from rq.cron import CronScheduler
from rq.scheduler import RQScheduler

from app.runtime import periodic
from app.infra.queue import QUEUES, SYSTEM_QUEUE

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, app, conn):
        self.queues = set(QUEUES)
        self.rq = RQScheduler(list(QUEUES), connection=conn, interval=1)
        self.cron = CronScheduler(connection=conn)
        with app.app_context():
            for job in periodic.JOBS:
                self.cron.register(periodic.run, queue_name=SYSTEM_QUEUE, args=(job.name,), interval=job.every(),
                                   result_ttl=600, failure_ttl=86400, name=f"procly-{job.name}")
        self.born = False
        self.down_since: float | None = None

    def tick(self) -> bool:
        """One pass: hold (or take over) the scheduler lock, move due delayed jobs, enqueue due
        periodic jobs. Returns whether Redis answered."""
        try:
            if not self.born:
                self.rq.register_birth()
                self.cron.register_birth()
                self.born = True
            if self.rq.acquired_locks != self.queues:
                self.rq.acquire_locks()
            self.rq.heartbeat()
            if self.rq.acquired_locks:
                self.rq.enqueue_scheduled_jobs()
            if self.cron.enqueue_jobs():
                self.cron.save()
            self.cron.heartbeat()
        except RedisError as exc:
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("scheduler: Redis unreachable (%s); waiting for it", exc)
            return False
        if self.down_since is not None:
            log.warning("scheduler: Redis is back after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None
        return True

    def outage_seconds(self) -> float:
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def stop(self) -> None:
        try:
            self.rq.release_locks()
            self.rq.register_death()
            self.cron.register_death()
        except RedisError:
            pass
