"""`Idempotency-Key` on creating endpoints: a retried request gets the first response back.

`@idempotent(scope)` wraps a view that creates (POST /tasks, /tasks/batch, inbound webhooks) and
commits the request itself, once. With the header, the response (status and body) is stored under
(caller scope, key) with a hash of the request in the same transaction as what the view created, so
both exist or neither does. A retry with the same key and request replays the stored response
(`Idempotent-Replayed: true`) and creates nothing; the same key with another request is a 422
naming the header. Two concurrent requests with one key: the unique constraint picks the winner;
the loser's transaction is rolled back and it replays the winner's response. The same goes for a
unique Task key (app.tasks.operations.start_task): the loser answers with the winner's Task.

Keys live IDEMPOTENCY_TTL_HOURS (default 24); `purge_expired_idempotency_keys()` deletes older ones
(for a periodic job); an expired key that is still stored counts as unused."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import APIError
from app.extensions import db
from app.infra.transaction import OWN
from app.models import IdempotencyKey
from app.models.idempotency import purge_expired as purge_expired_idempotency_keys  # noqa: F401
from app.auth.access import require_login

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
DEFAULT_TTL_HOURS = 24
ATTEMPTS = 3   # a lost race on a unique constraint is retried: the second run finds the winner's rows

PARAMETER = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": "Any unique string (e.g. a UUID) per logical request. A retry with the same key and "
                   "the same request within 24 h returns the first response (same status and body, "
                   f"header `{REPLAYED}: true`) and creates nothing; the same key with another request "
                   "is a 422. Keys are per caller (per user, or per inbound webhook).",
}


def request_hash() -> str:
    h = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        h.update(part.encode() + b"\0")
    h.update(request.get_data(cache=True))
    return h.hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise APIError(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.",
                       {HEADER: [f"1-{MAX_KEY_LENGTH} printable characters"]})
    return key


def _stored(scope: str, key: str) -> IdempotencyKey | None:
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is not None and row.expires_at <= clock.now():
        db.session.delete(row)   # expired but not purged yet: the key is free again
        db.session.flush()
        return None
    return row


def _replay(row: IdempotencyKey, digest: str):
    if row.request_hash != digest:
        raise APIError(f"This {HEADER} was already used with a different request.",
                       {HEADER: ["already used with a different request (method, path or body)"]},
                       status=422, code="idempotency_key_reused")
    resp = jsonify(row.response)
    resp.status_code = row.status
    resp.headers[REPLAYED] = "true"
    return resp


def idempotent(scope: Callable[..., str]):
    """Decorator (below the role check, above flask-smorest's arguments/response): the view flushes
    but does not commit; this commits once, with the key row when the header is sent. `scope(**view
    kwargs)` names the caller, e.g. "user:3"; it runs before the view and may refuse (401/403)."""

    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = _key()
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    if key is not None:
                        owner, digest = scope(**kwargs), request_hash()
                        row = _stored(owner, key)
                        if row is not None:
                            return _replay(row, digest)
                    response = view(*args, **kwargs)
                    if key is not None and response.status_code < 300:
                        ttl = current_app.config.get("IDEMPOTENCY_TTL_HOURS", DEFAULT_TTL_HOURS)
                        db.session.add(IdempotencyKey(scope=owner, key=key, request_hash=digest,
                                                      status=response.status_code, response=response.get_json(),
                                                      created_at=clock.now(),
                                                      expires_at=clock.now() + timedelta(hours=ttl)))
                    db.session.commit()
                    return response
                except IntegrityError:
                    db.session.rollback()   # a concurrent request won a unique constraint: run again
                    if attempt == ATTEMPTS:
                        raise
            raise AssertionError("unreachable")

        setattr(wrapper, OWN, "the Idempotency-Key row commits with what the view created; a lost race "
                              "on a unique constraint rolls back and runs the view again")
        wrapper._apidoc = dict(getattr(view, "_apidoc", {}))
        manual = dict(wrapper._apidoc.get("manual_doc", {}))
        manual["parameters"] = [*manual.get("parameters", []), PARAMETER]
        wrapper._apidoc["manual_doc"] = manual
        return wrapper

    return deco


def caller_scope(**_kwargs) -> str:
    """The signed-in user (or the user of the API token)."""

    return f"user:{require_login().id}"
