"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Every error under /api answers in it: client errors raised by domain code (APIError), HTTP errors
(404, 405, …), outages of Redis or the database (503 "unavailable" with Retry-After) and any
unexpected exception (500 "internal_error", logged, no traceback in the body)."""
from __future__ import annotations

import logging

import redis.exceptions
from flask import Flask, current_app, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, default_exceptions

from app.extensions import db


class APIError(Exception):
    """A client error raised by domain code; views never build error responses by hand."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | list | None = None, *, status: int | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if status:
            self.status = status
        if code:
            self.code = code


class NotFound(APIError):
    status, code = 404, "not_found"


class Forbidden(APIError):
    status, code = 403, "forbidden"


class Conflict(APIError):
    status, code = 409, "conflict"


class Invalid(APIError):
    status, code = 422, "invalid"


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}

# Redis or the database cannot be reached (or is busy): the request may simply be retried later.
OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, sa_exc.OperationalError,
           sa_exc.TimeoutError)
log = logging.getLogger(__name__)
HTML_STATUSES = {code: default_exceptions[code] for code in (401, 403, 404, 409, 422)}


def http_error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    details = data.get("errors") or data.get("messages") or {}
    # webargs nests body errors under the location name; flatten "json" for a stable shape
    if isinstance(details, dict) and set(details) == {"json"}:
        details = details["json"]
    code = CODES.get(error.code) or (error.name or "error").lower().replace(" ", "_")
    message = data.get("message") or error.description or error.name
    if isinstance(error, CSRFError):
        code, message = "csrf_failed", f"CSRF check failed: {error.description}"
    elif error.code == 429:
        message = f"Too many requests ({error.description}); try again later."
    if details and error.code == 422:
        code, message = "invalid", "The request is invalid: see details."
    resp = jsonify(error_body(code, message, details))
    resp.status_code = error.code or 500
    for k, v in (data.get("headers") or {}).items():
        resp.headers[k] = v
    if error.code == 405 and getattr(error, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(error.valid_methods)
    return resp


def is_api_path() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def wants_json() -> bool:
    return is_api_path() or request.accept_mimetypes.best == "application/json"


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGES) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the database may be the thing that is down)
        log.warning("rollback failed while answering an error", exc_info=True)


def unexpected_error(exc: Exception):
    """Outages → 503 "unavailable" with Retry-After; anything else → 500 "internal_error". JSON for
    API (and JSON) clients, with no traceback; pages keep Flask's own handling."""
    _rollback_quietly()
    if not wants_json():
        raise exc
    if is_outage(exc):
        log.warning("%s %s: service unavailable (%s: %s)", request.method, request.path, type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "")
        resp = jsonify(error_body("unavailable", "A service Procly depends on is unavailable; retry shortly."))
        resp.status_code = 503
        resp.headers["Retry-After"] = str(current_app.config.get("API_RETRY_AFTER", 5))
        return resp
    log.exception("unexpected error on %s %s", request.method, request.path)
    resp = jsonify(error_body("internal_error", "An unexpected error occurred; it has been logged."))
    resp.status_code = 500
    return resp


def handle_http_exception(error: HTTPException):
    """JSON under /api (and for JSON clients); HTML pages keep Werkzeug's own error page."""
    if error.code and error.code >= 400:
        _rollback_quietly()
    return http_error_response(error) if wants_json() else error


def init_app(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(err: APIError):
        _rollback_quietly()  # an operation may have flushed part of its work: none of it survives
        if not wants_json() and err.status in HTML_STATUSES:
            # a page: the same decision, as the HTML error page of its status (abort(404, message))
            return HTML_STATUSES[err.status](err.message)
        resp = jsonify(error_body(err.code, err.message, err.details))
        resp.status_code = err.status
        if getattr(err, "retry_after", None):   # e.g. a callback that raced ahead of its run (app.inbound.callbacks)
            resp.headers["Retry-After"] = str(err.retry_after)
        return resp

    app.register_error_handler(Exception, unexpected_error)
