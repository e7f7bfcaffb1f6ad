"""Who is calling, and role checks for routes. Field-level permissions live in app.permissions."""
from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user

from app.errors import APIError, Forbidden
from app.extensions import csrf, db, login_manager
from app.models import Process, Role, User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    csrf.init_app(app)

    @login_manager.user_loader
    def _load(user_id: str):
        user = db.session.get(User, int(user_id))
        return user if user and user.active else None

    @login_manager.request_loader
    def _from_bearer(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        from app.auth.tokens import user_for_token

        found = user_for_token(header[7:].strip())
        if found is None:
            return None
        g.api_token = found[1]
        return found[0]

    @app.before_request
    def _forget_previous_caller():
        # `g` lives on the app context, which a request reuses when one is already pushed (tests, CLI):
        # never let one request's user or token leak into the next.
        g.pop("_login_user", None)
        g.pop("api_token", None)

    @app.before_request
    def _csrf_for_cookie_sessions():
        # Bearer-token calls carry no ambient credential, so CSRF applies to cookie sessions only.
        if request.method in SAFE_METHODS or request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        if request.blueprint == "portal" or not app.config.get("WTF_CSRF_ENABLED", True):
            return None
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return None  # no ambient credential to abuse: the view answers 401
        csrf.protect()


def actor() -> str:
    """The Event actor string for the caller."""
    token = g.get("api_token")
    if token is not None:
        return f"token:{token.id}"
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "system"


def require_login() -> User:
    if not current_user or not current_user.is_authenticated:
        raise APIError("Sign in or send a bearer API token.", status=401, code="unauthorized")
    return current_user._get_current_object()


def roles_required(*roles: Role):
    """Route decorator: the caller must be signed in with one of `roles` (admins always pass)."""

    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = require_login()
            if user.role != Role.admin and user.role not in roles:
                raise Forbidden(f"This needs the role {' or '.join(roles)}; you are {user.role}.")
            return view(*args, **kwargs)

        return wrapper

    return deco


def login_required_api(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        require_login()
        return view(*args, **kwargs)

    return wrapper


def can_design(user: User, team_id: int) -> bool:
    """Designers edit and publish only the Processes (and Splits) of their Teams; admins all."""
    if user.role == Role.admin:
        return True
    return user.role == Role.designer and team_id in user.team_ids


def check_can_design(user: User, process: Process) -> None:
    if not can_design(user, process.team_id):
        raise Forbidden(f'You may not change process "{process.key}": it belongs to another team.')
