"""`create_app`: the one place that builds the application and wires every subsystem in
(`init_app` each, in order; nothing registers itself at import). The entry layer: it imports every
layer, and nothing imports it but the entry points (wsgi.py, tests)."""
from __future__ import annotations

from flask import Flask

from app import (ai, alerts, api, cli, config, conversations, dashboards, errors, files, headers, inbound, ops, portal,
                 realtime, scheduling, stages, web, worklist)
from app.auth import access
from app.builder import routes as builder_routes
from app.extensions import db, limiter, migrate, socketio
from app.infra import logs, queue, transaction
from app.redis_server import ensure_embedded


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask("app", template_folder="../templates", static_folder="../static")
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_env())
    app.config.update(overrides or {})
    if not app.config.get("TESTING"):
        logs.configure()       # structured logs for every logger (tests keep pytest's own capture)
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = ensure_embedded(app.config["PROCLY_INSTANCE"])

    ops.init_app(app)          # first: the request id is bound before any other hook runs or logs
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"), render_as_batch=True, compare_type=True)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    limiter.init_app(app)
    socketio.init_app(app, async_mode="threading", message_queue=app.config["REDIS_URL"],
                      cors_allowed_origins=[])
    errors.init_app(app)
    stages.init_app(app)       # the stage-type registry: built-ins + `procly.stage_types` entry points
    conversations.init_app(app)  # the email conversation stage type's service
    ai.init_app(app)           # the AI Prompt stage type's service (and the AI connections, checked)
    alerts.init_app(app)       # alerts listen to the engine's signals
    scheduling.init_app(app)   # appointment reminders listen too
    headers.init_app(app)
    access.init_app(app)
    queue.init_app(app)        # jobs, messages and Events leave after COMMIT
    files.init_app(app)        # the file storage; stored bytes of a rolled-back upload are deleted

    api.init_app(app)
    realtime.init_app(app)
    web.init_app(app)
    builder_routes.init_app(app)
    cli.init_app(app)
    inbound.init_app(app)      # signed inbound calls are dispatched ahead of the CSRF hook
    worklist.init_app(app)
    portal.init_app(app)
    dashboards.init_app(app)
    transaction.init_app(app)  # last: wraps every view in the one transaction boundary
    return app
