"""One transaction boundary per request: every view is wrapped (by `init_app`, at the end of
`create_app`) so that a state-changing request (POST, PUT, PATCH, DELETE) commits once, after its view
returned a response below 400, and rolls back otherwise; a read (GET, HEAD, OPTIONS) never commits
(whatever it flushed is rolled back). Operations only flush. A concurrent writer that got there
first (a stale `lock_version`) turns into 409 and nothing of the request is kept.

A view that must commit itself says so with `@own_transaction(reason)`; there are two:
- `Idempotency-Key` views (app.api.idempotency): the key row commits with what the view created,
  and a lost race on a unique constraint is retried by rolling back and running the view again;
- opening a magic link (GET /portal/t/<token>): the one GET that writes, because following an
  emailed link is a use of a capability that is counted and audited (`portal.link_used` /
  `portal.link_refused` Events), refused uses included.
Jobs have their own boundary (app.runtime.jobs: one commit per attempt, retried on a lost race)."""
from __future__ import annotations

from functools import wraps

from flask import current_app, request
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict
from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN = "_procly_own_transaction"


def own_transaction(reason: str):
    """Mark a view that commits itself (see the module docstring); `reason` documents why."""

    def deco(view):
        setattr(view, OWN, reason)
        return view

    return deco


def _conflict() -> Conflict:
    return Conflict("Another change to this Task happened at the same time; reload and retry.",
                    {"task": ["changed concurrently"]})


def boundary(view):
    """Wrap a view: commit once (state-changing request, response < 400) or roll back."""
    if getattr(view, OWN, None) is not None or getattr(view, "_procly_boundary", False):
        return view

    view_class = getattr(view, "view_class", None)

    @wraps(view)
    def wrapper(*args, **kwargs):
        if view_class is not None and getattr(getattr(view_class, request.method.lower(), None), OWN, None):
            return view(*args, **kwargs)   # a MethodView method that commits itself (Idempotency-Key)
        try:
            rv = view(*args, **kwargs)
        except StaleDataError:
            db.session.rollback()
            raise _conflict() from None
        response = current_app.make_response(rv)
        if request.method in SAFE_METHODS or response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            raise _conflict() from None
        return response

    wrapper._procly_boundary = True
    return wrapper


def init_app(app) -> None:
    """Wrap every registered view (call after all blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = boundary(view)
