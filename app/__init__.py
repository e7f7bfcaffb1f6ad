"""Procly: the application factory."""
from __future__ import annotations

from flask import Flask

from app import config


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_env())
    app.config.update(overrides or {})
    if not app.config["REDIS_URL"]:
        from app.redis_server import ensure_embedded

        app.config["REDIS_URL"] = ensure_embedded(app.config["PROCLY_INSTANCE"])

    from app import errors, models, stages  # noqa: F401  (models register their tables)
    from app.extensions import db, limiter, migrate, socketio

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"), render_as_batch=True, compare_type=True)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    limiter.init_app(app)
    socketio.init_app(app, async_mode="threading", message_queue=app.config["REDIS_URL"],
                      cors_allowed_origins=[])
    errors.init_app(app)
    stages.init_app(app)   # the stage-type registry: built-ins + `procly.stage_types` entry points
    from app import headers
    headers.init_app(app)

    from app.auth import access
    from app.infra import queue
    access.init_app(app)
    queue.init_app(app)

    from app import api, cli, realtime, web
    api.init_app(app)
    realtime.init_app(app)
    web.init_app(app)
    from app.builder import routes as builder_routes; builder_routes.init_app(app)
    cli.init_app(app)
    from app import inbound; inbound.init_app(app)  # noqa: E702  (signed inbound calls skip the CSRF hook)
    from app import dashboards, portal, worklist  # noqa: E401
    worklist.init_app(app)
    portal.init_app(app)
    dashboards.init_app(app)
    from app.infra import transaction
    transaction.init_app(app)   # last: wraps every view in the one transaction boundary
    return app
