"""Prometheus metrics: what each process measures, and where it keeps it.

Two kinds of series, chosen by where they happen (docs/operations.md, "Metrics"):
- per web process, in memory (prometheus_client's registry `REGISTRY`): HTTP requests and their
  latency per endpoint, open Socket.IO connections. One gunicorn worker per instance (threads, as
  Socket.IO wants), so each instance's /metrics is complete for it; Prometheus scrapes each instance.
- shared, in Redis (HINCRBY, one pipelined round trip, never raising): what workers do — jobs run per
  type and outcome, Stage transitions per Process. Workers run on any machine and serve no HTTP;
  prometheus_client's multiprocess mode only joins processes sharing one folder on one host, so the
  counters live where every process already writes, and any web process exposes them at scrape.
Everything else (queue depth, failed jobs, timers, the sweep's age, outbox backlog) is a gauge read
from Redis and the database when /metrics is scraped (app.ops.collector), cached a few seconds.
"""
from __future__ import annotations

import logging
import time
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("procly_http_requests", "HTTP requests answered, per endpoint, method and status",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("procly_http_request_duration_seconds", "Time to answer an HTTP request, per endpoint",
                    ["endpoint", "method"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SOCKETS = Gauge("procly_socketio_connections", "Socket.IO connections open on this web process (read at scrape)",
                registry=REGISTRY)

JOBS_KEY = "procly:metrics:jobs"                 # field "<job type>|<outcome>" -> count
JOB_SECONDS_KEY = "procly:metrics:job_seconds"   # field "<job type>" -> seconds spent, summed
TRANSITIONS_KEY = "procly:metrics:transitions"   # field "<process id>|<to status>" -> count
HEARTBEAT_KEY = "procly:worker:heartbeat"        # epoch seconds of the latest worker heartbeat
HEARTBEAT_TTL = 3600


def job_type(func_name: str | None, args=()) -> str:
    """`app.runtime.jobs.run_stage` -> `run_stage`; a periodic job -> `periodic_<name>` (`periodic_sweep`).
    Bounded label values: the job functions and the periodic jobs' names."""
    name = (func_name or "unknown").rsplit(".", 1)[-1]
    if func_name == "app.runtime.periodic.run" and args and isinstance(args[0], str) and args[0].isidentifier():
        return f"periodic_{args[0]}"
    return name


def count_job(conn, kind: str, outcome: str, seconds: float) -> None:
    try:
        pipe = conn.pipeline(transaction=False)
        pipe.hincrby(JOBS_KEY, f"{kind}|{outcome}", 1)
        pipe.hincrbyfloat(JOB_SECONDS_KEY, kind, round(seconds, 6))
        pipe.execute()
    except RedisError as exc:  # metrics never fail a job
        log.debug("job metrics not recorded: %s", exc)


def count_transitions(conn, tally: Tally) -> None:
    if not tally:
        return
    try:
        pipe = conn.pipeline(transaction=False)
        for (process_id, status), n in tally.items():
            pipe.hincrby(TRANSITIONS_KEY, f"{process_id}|{status}", n)
        pipe.execute()
    except RedisError as exc:
        log.debug("transition metrics not recorded: %s", exc)


def heartbeat(conn) -> None:
    conn.set(HEARTBEAT_KEY, f"{time.time():.3f}", ex=HEARTBEAT_TTL)


def heartbeat_age(conn) -> float | None:
    """Seconds since a worker last said it lives; None if none ever did (or Redis lost it)."""
    raw = conn.get(HEARTBEAT_KEY)
    return None if raw is None else max(0.0, time.time() - float(raw))


def read_hash(conn, key: str) -> dict[str, float]:
    return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in conn.hgetall(key).items()}
