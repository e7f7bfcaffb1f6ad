"""Login, logout and the signed-in home (`bp`), and /account: your API tokens and your password
(`account_bp`). Views are thin: app.auth decides."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from app import clock
from app.auth import throttle
from app.auth.passwords import end_sessions, password_problem, set_password, verify_password
from app.auth.tokens import issue_token, revoke_token
from app.errors import APIError
from app.extensions import db
from app.models import ApiToken, Event, Process, Role, Scope, Task, User
from app.tasks import starting
from app.vocab.statuses import TaskStatus

bp = Blueprint("web", __name__)


@bp.get("/login")
def login():
    return render_template("web/login.html", email=request.args.get("email", ""))


@bp.post("/login")
def login_post():
    email = request.form.get("email", "").strip().lower()[:254]
    password = request.form.get("password", "")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    attempt = throttle.Attempt.of(email, user.id if user else None)
    wait = attempt.retry_after()
    if wait is not None:
        minutes = max(1, round(wait / 60))
        flash(f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes > 1 else ''}.", "error")
        return render_template("web/login.html", email=email), 429, {"Retry-After": str(wait)}
    # one argon2 verification on every path, so the answer time does not tell which emails exist
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or not user.active:
        attempt.failed()
        flash("Unknown email or wrong password.", "error")
        return render_template("web/login.html", email=email), 401
    login_user(user)
    db.session.add(Event(type="user.login", actor=f"user:{user.id}", data={"ip": request.remote_addr}))
    response = make_response(redirect(safe_next(request.args.get("next", ""))))
    throttle.remember_device(response, user.id)
    return response


def safe_next(target: str) -> str:
    """Only same-site absolute paths: never an open redirect (browsers read "/\\x" as "//x")."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or "\\" in target or parts.scheme or parts.netloc \
            or any(ord(c) < 32 for c in target):
        return url_for("web.home")
    return target


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: the session version moves on, so a copy of any earlier cookie is dead too."""
    user = current_user._get_current_object()
    end_sessions(user)
    db.session.add(Event(type="user.logout", actor=f"user:{user.id}", data={}))
    logout_user()
    return redirect(url_for("web.login"))


# where each role lands: staff on their work, managers on dashboards, designers on the builder;
# admins (and anyone asking for it with ?overview=1) on the overview
LANDING = {Role.staff: "worklist.index", Role.manager: "dashboards.index", Role.designer: "builder.index"}


@bp.get("/")
@login_required
def home():
    user = current_user._get_current_object()
    landing = LANDING.get(user.role)
    if landing and not request.args.get("overview"):
        return redirect(url_for(landing))
    processes = db.session.scalars(select(Process).where(Process.archived_at.is_(None)).order_by(Process.name)).all()
    running = dict(db.session.execute(
        select(Task.process_id, func.count()).where(Task.status == TaskStatus.running).group_by(Task.process_id)
    ).all())
    attention = db.session.scalar(select(func.count()).select_from(Task).where(
        Task.status == TaskStatus.running, Task.needs_attention.is_(True)))
    startable = {p.key for p in starting.startable(user)}
    return render_template("web/home.html", processes=processes, running=running, user=user, attention=attention,
                           startable=startable, users=db.session.scalar(select(func.count()).select_from(User)))


# --- /account: API tokens and password ------------------------------------------------------------

account_bp = Blueprint("account", __name__, url_prefix="/account")
EXPIRIES = [("30", "in 30 days"), ("90", "in 90 days"), ("365", "in a year"), ("", "never")]


def _user():
    return current_user._get_current_object()


def _tokens_page(secret: str | None = None, status: int = 200):
    user = _user()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id.desc())).all()
    scopes = [s.value for s in Scope if s != Scope.admin or user.role == Role.admin]
    return render_template("web/tokens.html", tokens=tokens, secret=secret, scopes=scopes,
                           expiries=EXPIRIES), status


@account_bp.get("/tokens")
@login_required
def tokens():
    return _tokens_page()


@account_bp.post("/tokens")
@login_required
def create_token():
    user = _user()
    name = request.form.get("name", "").strip()[:120]
    days = request.form.get("expires", "")
    if not name:
        flash("Give the token a name, e.g. the integration that will use it.", "error")
        return _tokens_page(status=422)
    expires_at = clock.now() + timedelta(days=int(days)) if days.isdigit() and 0 < int(days) <= 3650 else None
    try:
        token, secret = issue_token(user, name, scope=request.form.get("scope", Scope.read), expires_at=expires_at)
    except (APIError, ValueError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", "Choose read, write or admin as the scope."), "error")
        return _tokens_page(status=422)
    db.session.add(Event(type="token.issued", actor=f"user:{user.id}", data={"token": token.id, "scope": token.scope}))
    return _tokens_page(secret=secret, status=201)


@account_bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    user = _user()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    try:
        revoke_token(token, user)   # someone else's token: 404, as through the API
    except APIError as exc:
        abort(exc.status, exc.message)
    db.session.add(Event(type="token.revoked", actor=f"user:{user.id}", data={"token": token.id}))
    flash(f'Token "{token.name}" revoked; tokens it created stop working too.', "ok")
    return redirect(url_for("account.tokens"))


@account_bp.get("/password")
@login_required
def password():
    return render_template("web/password.html")


@account_bp.post("/password")
@login_required
def change_password():
    user = _user()
    attempt = throttle.Attempt.of(user.email.lower(), user.id)
    if attempt.retry_after() is not None:
        flash("Too many wrong passwords; try again later.", "error")
        return render_template("web/password.html"), 429
    current, new = request.form.get("current", ""), request.form.get("new", "")
    if not verify_password(user.password_hash, current):
        attempt.failed()
        flash("Your current password is not right.", "error")
        return render_template("web/password.html"), 422
    problem = password_problem(new) or (None if new == request.form.get("confirm") else
                                        "The two new passwords differ.")
    if problem:
        flash(problem, "error")
        return render_template("web/password.html"), 422
    set_password(user, new)  # every other session of this user ends here
    db.session.add(Event(type="user.password_changed", actor=f"user:{user.id}", data={}))
    login_user(user)  # this browser stays signed in, with the new session version
    flash("Password changed. You were signed out everywhere else.", "ok")
    return redirect(url_for("account.password"))
