"""Operations: request ids and structured request logs, HTTP metrics, and the /healthz, /readyz and
/metrics endpoints (app.ops.routes). docs/operations.md, "Health, metrics and logs"."""
from __future__ import annotations

import time

from flask import current_app, g, request
from prometheus_client import disable_created_metrics

from app.extensions import socketio
from app.infra import logs, telemetry
from app.ops import collector
from app.ops.routes import bp

rlog = logs.get("procly.request")
_IDS = {"task_id": "task_id", "run_id": "stage_run_id"}   # URL parameters worth carrying on log lines


def _start() -> None:
    g.procly_started = time.perf_counter()
    g.request_id = logs.request_id_from(request.headers.get(logs.REQUEST_ID_HEADER))
    logs.clear()   # a thread of the server serves many requests: nothing of the last one carries over
    logs.bind(request_id=g.request_id,
              **{name: (request.view_args or {}).get(arg) for arg, name in _IDS.items()})


def _finish(response):
    rid = g.get("request_id")
    if rid:
        response.headers[logs.REQUEST_ID_HEADER] = rid
    started = g.get("procly_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or "unmatched"   # bounded label values: endpoints, not paths
    telemetry.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    telemetry.LATENCY.labels(endpoint, request.method).observe(seconds)
    if request.path not in ("/healthz", "/readyz", "/metrics") and _request_log():
        rlog.info("request", method=request.method, path=logs.safe_path(request.path), endpoint=endpoint,
                  status=response.status_code, duration_ms=round(seconds * 1000, 1),
                  remote_addr=request.remote_addr)
    return response


def _forget(_exc=None) -> None:
    logs.clear()   # nothing of this request is left bound to the thread (e.g. for a job enqueued later)


def _request_log() -> bool:
    return bool(current_app.config.get("REQUEST_LOG"))


def _open_sockets() -> int:
    """Engine.IO sessions (Socket.IO connections) this process holds open, read at scrape."""
    server = getattr(socketio, "server", None)
    return len(getattr(getattr(server, "eio", None), "sockets", {}) or {})


def init_app(app) -> None:
    """Call first in create_app: the request id is bound before any other hook logs."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_forget)
    disable_created_metrics()   # no *_created series: they double the output and no dashboard reads them
    app.extensions["procly_metrics"] = collector.registry_for(app)
    telemetry.SOCKETS.set_function(_open_sockets)
    app.register_blueprint(bp)
