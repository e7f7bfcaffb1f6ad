"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus, not people.

- `/healthz`: the process answers (no I/O at all).
- `/readyz`: the database is reachable and migrated to the code's head revision, Redis answers, and a
  worker heartbeat was seen within READY_WORKER_MAX_AGE seconds; 200 or 503 with each check's detail.
  Computed at most once a second per process (app.ops.checks.Cached).
- `/metrics`: Prometheus text format, only with `Authorization: Bearer <PROCLY_METRICS_TOKEN>`; without a
  token configured it answers 404 (serve it on a separate address instead: PROCLY_METRICS_ADDR,
  started by gunicorn.conf.py). None of them reveals Task data."""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.errors import APIError, NotFound
from app.ops import checks

bp = Blueprint("ops", __name__)
READY_CACHE_SECONDS = 1.0


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    cache = current_app.extensions.setdefault("procly_ready", checks.Cached(READY_CACHE_SECONDS))
    result = cache.get(checks.readiness)
    return jsonify({"status": "ready" if result["ready"] else "not ready", **result}), 200 if result["ready"] else 503


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        raise NotFound("Metrics are not served here (set PROCLY_METRICS_TOKEN, or PROCLY_METRICS_ADDR).")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise APIError("A valid metrics token is required (Authorization: Bearer <PROCLY_METRICS_TOKEN>).",
                       {"Authorization": ["missing or wrong"]}, status=401, code="unauthorized")
    body = generate_latest(current_app.extensions["procly_metrics"])
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
