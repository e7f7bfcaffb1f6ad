"""Who is calling, and role checks for routes. Field-level permissions live in app.permissions."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask_login import current_user

from app.auth.tokens import scope_covers, user_for_token
from app.errors import APIError, Forbidden
from app.extensions import csrf, db, login_manager
from app.models import ApiToken, Role, Scope, User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    csrf.init_app(app)

    @login_manager.user_loader
    def _load(session_id: str):
        # "id:session_version": a cookie issued before a sign-out or password change carries an old version
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user and user.active and user.session_version == int(version) else None

    @app.before_request
    def _forget_previous_caller():
        # `g` lives on the app context, which a request reuses when one is already pushed (tests, CLI):
        # never let one request's user or token leak into the next.
        g.pop("_login_user", None)
        g.pop("api_token", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF caches the token on g

    @app.before_request
    def _bearer_token():
        """An API call with a valid bearer token is that token's, whatever cookies come with it; its
        scope must cover the call. An invalid token authenticates nothing (the cookie rules apply)."""
        token = bearer_token(request)
        if token is None:
            return None
        found = user_for_token(token)
        if found is None:
            return None
        user, g.api_token = found
        login_manager._update_request_context_with_user(user)
        check_scope(g.api_token)

    @app.before_request
    def _csrf_for_cookie_sessions():
        # only a request a bearer token authenticated carries no ambient credential and skips CSRF
        if request.method in SAFE_METHODS or g.get("api_token") is not None:
            return None
        if request.blueprint == "portal" or not app.config.get("WTF_CSRF_ENABLED", True):
            return None
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return None  # no ambient credential to abuse: the view answers 401
        csrf.protect()


def bearer_token(req) -> str | None:
    """The bearer secret of an API request (tokens are for /api only; pages need a session)."""
    if not req.path.startswith("/api/"):
        return None
    scheme, _, secret = req.headers.get("Authorization", "").partition(" ")
    return (secret.strip() or None) if scheme.lower() == "bearer" else None


def required_scope() -> Scope:
    """What the current API call needs: admin for admin-only views (marked by `admin_only` or
    `roles_required()` with no role but admin), write for any other method than GET/HEAD/OPTIONS, else read."""
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    if getattr(view, "admin_only", False) or getattr(handler, "admin_only", False):
        return Scope.admin
    return Scope.read if request.method in SAFE_METHODS else Scope.write


def check_scope(token: ApiToken) -> None:
    need = required_scope()
    if not scope_covers(token.scope, need):
        raise Forbidden(f"This token has the {token.scope} scope; {request.method} {request.path} needs the "
                        f"{need} scope.", {"scope": token.scope, "required": need.value}, code="insufficient_scope")


def admin_only(view):
    """Mark a view (or MethodView handler) as an admin-only operation: tokens need the admin scope."""
    view.admin_only = True
    return view


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
                raise Forbidden(f"This needs the role {' or '.join(roles) or 'admin'}; you are {user.role}.")
            return view(*args, **kwargs)

        return admin_only(wrapper) if not roles or set(roles) == {Role.admin} else wrapper

    return deco


def login_required_api(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        require_login()
        return view(*args, **kwargs)

    return wrapper
