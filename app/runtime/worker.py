"""`flask procly worker`: a supervising process running the scheduler (app.runtime.scheduler) and
N worker processes (non-forking RQ SimpleWorkers, the app loaded once per process).

What it survives, each tested on a running worker (tests/faults, docs/operations.md):
- a worker process killed (even SIGKILL inside a job): the supervisor starts a new one at once and
  the sweep re-enqueues the run its job left half-done (nothing of it was committed);
- the supervisor killed: its workers die with it (PR_SET_PDEATHSIG), nothing is left holding locks;
- Redis down, restarted or flushed: workers and scheduler wait for it with backoff instead of
  exiting, up to OUTAGE_TOLERANCE seconds (then they exit non-zero so a process manager notices);
- the database down: jobs that cannot reach it are retried by RQ with backoff (queue.retry_policy).
"""
from __future__ import annotations

import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid

from redis.exceptions import RedisError
from rq import SimpleWorker
from sqlalchemy.exc import OperationalError

from app import sandbox
from app.extensions import db
from app.infra import logs, telemetry
from app.infra.queue import QUEUES, redis_conn
from app.runtime.recovery import ALIVE_KEY, ALIVE_TTL
from app.runtime.scheduler import Scheduler

log = logging.getLogger(__name__)
jlog = logs.get("procly.job")
RESTART_BACKOFF_MAX = 30   # seconds between restarts of a worker that keeps dying at start
CRASH_LOOP = 10            # seconds: a worker that dies sooner after starting is restarted with backoff
STOP_GRACE = 30            # seconds a worker has to finish its job on shutdown before SIGKILL
TICK = 0.5                 # seconds between scheduler passes: a timer's job starts at most this late


class AppWorker(SimpleWorker):
    """Runs each job inside the app context and leaves a clean session behind."""

    app = None
    stop_asked = False

    def execute_job(self, job, queue):
        """Each job: its ids on every log line it writes (the request id of the request that enqueued
        it, from the job's meta), one line when it ends, and its count and time in the metrics."""
        try:
            args = tuple(job.args or ())
        except Exception:  # noqa: BLE001 - a job that cannot be read fails in RQ's own code, logged there
            args = ()
        kind = telemetry.job_type(job.func_name, args)
        logs.clear()
        logs.bind(job_id=job.id, job_type=kind, request_id=(job.meta or {}).get("request_id"),
                  **_job_ids(kind, args))
        started = time.monotonic()
        with self.app.app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()
                seconds = time.monotonic() - started
                status = job.get_status(refresh=False)
                outcome = str(getattr(status, "value", status) or "unknown")
                telemetry.count_job(self.connection, kind, outcome, seconds)
                jlog.info("job finished", outcome=outcome, seconds=round(seconds, 4))
                logs.clear()

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    def handle_exception(self, job, *exc_info):
        """An outage makes every job fail alike and RQ retries each: one line per failure then, not a
        70-line traceback (seen: 49 MB of log in a 40 s database outage)."""
        exc = exc_info[1]
        if isinstance(exc, (OperationalError, RedisError)):
            self.log.warning("job %s (%s) could not reach %s; RQ retries it: %s", job.id, job.func_name,
                             "the database" if isinstance(exc, OperationalError) else "Redis",
                             str(getattr(exc, "orig", exc)).splitlines()[0][:200])
            return
        super().handle_exception(job, *exc_info)


def _job_ids(kind: str, args) -> dict:
    """Task / Stage Run ids a job names in its arguments (jobs take primitive ids)."""
    args = tuple(args or ())
    if args and isinstance(args[0], int):
        if kind == "run_stage":
            return {"stage_run_id": args[0]}
        if kind in ("fire_timer", "fire_due_timer"):
            return {"timer_id": args[0]}
    return {}


def make_worker(app, name: str | None = None) -> AppWorker:
    with app.app_context():
        conn = redis_conn()
    worker = AppWorker(list(QUEUES), connection=conn,
                       name=name or f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    worker.app = app
    return worker


# --- one worker process ------------------------------------------------------------------------

class Alive(threading.Thread):
    """Keeps ALIVE_KEY of a worker set while its process lives: the sweep's proof that a job this
    worker started is still running (RQ's SimpleWorker does not heartbeat during a job)."""

    def __init__(self, conn, name: str):
        super().__init__(daemon=True, name="procly-alive")
        self.conn, self.key, self.stopped = conn, ALIVE_KEY.format(name), threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.conn.set(self.key, "1", ex=ALIVE_TTL)
                telemetry.heartbeat(self.conn)   # /readyz: a worker lives somewhere
            except RedisError:
                pass
            self.stopped.wait(ALIVE_TTL / 4)

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.conn.delete(self.key)
        except RedisError:
            pass


def serve(app, *, burst: bool = False) -> int:
    """Work jobs until asked to stop. When Redis goes away under the worker (RQ's work loop then
    returns or raises), wait for it with backoff and start a fresh worker. Returns an exit code."""
    tolerance = app.config["OUTAGE_TOLERANCE"]
    stop = threading.Event()
    while True:
        worker = make_worker(app)
        alive = Alive(worker.connection, worker.name)
        alive.start()
        try:
            worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
        except RedisError as exc:
            log.warning("worker %s: Redis unreachable at start (%s)", worker.name, exc)
        finally:
            alive.stop()
        if worker.stop_asked or burst:
            return 0
        _on_signals(lambda *_: stop.set())  # RQ's handlers are gone with its loop
        if not wait_for_redis(worker.connection, tolerance, stop):
            return 0 if stop.is_set() else 1


def wait_for_redis(conn, tolerance: float, stop: threading.Event) -> bool:
    """Ping Redis with backoff (0.5 s doubling to 5 s) until it answers; False after `tolerance`
    seconds or when asked to stop."""
    started, delay = time.monotonic(), 0.5
    while not stop.is_set():
        try:
            conn.ping()
            log.warning("Redis answers again after %.1f s; starting a fresh worker", time.monotonic() - started)
            return True
        except RedisError:
            pass
        if time.monotonic() - started > tolerance:
            log.error("Redis unreachable for %.0f s (PROCLY_OUTAGE_TOLERANCE); exiting", tolerance)
            return False
        stop.wait(delay)
        delay = min(delay * 2, 5)
    return False


FACTORY = "app.factory:create_app"


def _child(parent_pid: int, factory: str = FACTORY) -> None:
    """Entry point of a spawned worker process: it dies with its supervisor. It builds its app with
    the factory named by `factory` ("module:function"): the engine does not import the entry layer."""
    _die_with_parent(parent_pid)
    configure_logging()
    module, _, name = factory.partition(":")
    raise SystemExit(serve(getattr(importlib.import_module(module), name)()))


def _die_with_parent(parent_pid: int) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's own shutdown still stops us
        pass
    if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
        raise SystemExit(0)


def _on_signals(handler) -> None:
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def configure_logging() -> None:
    """Structured logs (app.infra.logs: JSON in production), level PROCLY_LOG_LEVEL."""
    logs.configure()


# --- the supervisor ----------------------------------------------------------------------------

class Supervisor:
    """Keeps `count` worker processes running and drives the scheduler, every TICK seconds."""

    def __init__(self, app, count: int):
        with app.app_context():
            self.conn = redis_conn()
        self.app, self.count = app, count
        self.scheduler = Scheduler(app, self.conn)
        self.ctx = multiprocessing.get_context("spawn")
        self.children: list[multiprocessing.Process | None] = [None] * count
        self.started_at = [0.0] * count
        self.backoff = [0.0] * count
        self.stopping = threading.Event()

    def run(self) -> int:
        _on_signals(lambda *_: self.stopping.set())
        log.warning("procly worker: supervisor %d, %d worker process(es)", os.getpid(), self.count)
        code = 0
        while not self.stopping.is_set():
            self.scheduler.tick()
            if self.scheduler.outage_seconds() > self.app.config["OUTAGE_TOLERANCE"]:
                log.error("Redis unreachable for longer than PROCLY_OUTAGE_TOLERANCE; exiting")
                code = 1
                break
            self._keep_children()
            self.stopping.wait(TICK)
        self._shutdown()
        return code

    def _keep_children(self) -> None:
        now = time.monotonic()
        for i, proc in enumerate(self.children):
            if proc is not None and proc.is_alive():
                continue
            if proc is not None:
                proc.join(0)
                lived = now - self.started_at[i]
                # dying within seconds of starting again and again is a crash loop: back off; otherwise at once
                self.backoff[i] = 0.0 if lived > CRASH_LOOP else min(max(self.backoff[i] * 2, 1.0), RESTART_BACKOFF_MAX)
                log.warning("worker process %s exited (code %s after %.0f s); restarting in %.0f s",
                            proc.pid, proc.exitcode, lived, self.backoff[i])
                self.children[i] = None
                self.started_at[i] = now + self.backoff[i]  # when to start it
                continue
            if now >= self.started_at[i]:
                child = self.ctx.Process(target=_child, args=(os.getpid(),), name=f"procly-worker-{i}")
                child.start()
                self.children[i], self.started_at[i] = child, now

    def _shutdown(self) -> None:
        live = [p for p in self.children if p is not None and p.is_alive()]
        for p in live:
            os.kill(p.pid, signal.SIGTERM)  # warm: finish the current job, then exit
        deadline = time.monotonic() + STOP_GRACE
        for p in live:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        self.scheduler.stop()


def run_workers(app, *, burst: bool = False, count: int = 1) -> int:
    """`flask procly worker`: supervise `count` workers with the scheduler; with `burst`, enqueue
    the periodic jobs and due delayed jobs once, then work in this process until the queues are empty."""
    configure_logging()
    reason = sandbox.available()
    if reason:   # fail closed: Code Stages fail with this reason; nothing ever runs unsandboxed
        log.warning("the code sandbox is unavailable on this machine (%s): Code Stages will fail until an "
                    "administrator installs bubblewrap and allows unprivileged user namespaces", reason)
    if burst:
        with app.app_context():
            scheduler = Scheduler(app, redis_conn())
        scheduler.tick()
        scheduler.stop()  # let go of the scheduler lock: a supervisor may start right after
        return serve(app, burst=True)
    return Supervisor(app, count).run()
