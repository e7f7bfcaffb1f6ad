"""Structured logging through structlog, for every logger of the process (Procly's, RQ's, SQLAlchemy's,
gunicorn's): one handler on the root logger whose formatter is structlog's ProcessorFormatter.

- Format: JSON lines in production (PROCLY_ENV=production), readable key=value lines in development;
  PROCLY_LOG_FORMAT=json|console overrides. Level: PROCLY_LOG_LEVEL (default INFO).
- Context: `bind(...)` puts ids in a context variable (per thread / per job) that every line carries:
  `request_id` (from X-Request-ID or generated, app.ops), `user`, `task_id`, `stage_run_id`, `job_id`.
  The request id goes into the meta of the jobs a request enqueues (app.infra.queue) and is bound again
  in the worker running them (app.runtime.worker), so a request and the jobs it caused share it.
- Never Field values or secrets: lines carry ids, names and statuses; app.infra.redaction masks any
  secret value that would still reach a message (its LogRecord factory runs before this formatter).
"""
from __future__ import annotations

import logging
import os
import re
import sys
import uuid

import structlog
from flask import g, has_request_context
from sqlalchemy import inspect
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")   # accepted from a client; anything else is replaced
HANDLER_NAME = "procly"
# capabilities in URL paths (magic links, booking links): never written to a log; query strings never are
_TOKEN_PATHS = re.compile(r"^(/portal/[tb]/)[^/]+")


def settings() -> tuple[str, int]:
    """(format, level) from the environment: json in production, console in development."""
    production = os.environ.get("PROCLY_ENV", "").strip().lower() == "production"
    fmt = os.environ.get("PROCLY_LOG_FORMAT", "").strip().lower() or ("json" if production else "console")
    level = logging.getLevelName(os.environ.get("PROCLY_LOG_LEVEL", "INFO").strip().upper())
    return ("json" if fmt == "json" else "console"), (level if isinstance(level, int) else logging.INFO)


def _user(_logger, _name, event_dict: dict) -> dict:
    """The signed-in user of the current request, if Flask-Login already loaded it (never a query)."""
    if "user" not in event_dict:
        if has_request_context():
            user = g.get("_login_user")
            # is_anonymous, not is_authenticated: that reads `active`, which after the COMMIT of the
            # request is expired and would be loaded again (a query in the request's last log line)
            if user is not None and not getattr(user, "is_anonymous", True):
                state = inspect(user, raiseerr=False)
                event_dict["user"] = state.identity[0] if state is not None and state.identity else None
    return event_dict


def _processors() -> list:
    return [structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name, _user, structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer()]


def formatter(fmt: str | None = None) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler: stdlib records and structlog events alike."""
    fmt = fmt or settings()[0]
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        final.append(structlog.processors.format_exc_info)
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_processors()],
                                               processors=[*final, renderer])


def configure(stream=None) -> None:
    """Once per process (idempotent): the root handler, the level, structlog's own loggers."""
    fmt, level = settings()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("rq.scheduler", "rq.cron", "rq.queue", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[*_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get(name: str):
    """A structured logger: `log.info("job finished", job_type=..., seconds=...)`."""
    return structlog.stdlib.get_logger(name)


def safe_path(path: str) -> str:
    """A URL path fit for a log line: the token of a magic or booking link masked."""
    return _TOKEN_PATHS.sub(r"\1[token]", path or "")


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is a plausible id, else a new one."""
    if header and _VALID_ID.match(header):
        return header
    return uuid.uuid4().hex


def bind(**ids) -> None:
    """Add ids to every line this thread (request, job) logs from now on (None values are skipped)."""
    bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear() -> None:
    clear_contextvars()


def current(name: str):
    return get_contextvars().get(name)
