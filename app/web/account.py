"""/account: your API tokens (list, create, revoke) and your password. Server-rendered, thin:
app.auth.tokens and app.auth.passwords decide."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from app import clock
from app.auth import throttle
from app.auth.passwords import password_problem, set_password, verify_password
from app.auth.tokens import issue_token, revoke_token
from app.errors import APIError
from app.extensions import db
from app.models import ApiToken, Event, Role, Scope

bp = Blueprint("account", __name__, url_prefix="/account")
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


@bp.get("/tokens")
@login_required
def tokens():
    return _tokens_page()


@bp.post("/tokens")
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
    db.session.commit()
    return _tokens_page(secret=secret, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
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
    db.session.commit()
    flash(f'Token "{token.name}" revoked; tokens it created stop working too.', "ok")
    return redirect(url_for("account.tokens"))


@bp.get("/password")
@login_required
def password():
    return render_template("web/password.html")


@bp.post("/password")
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
    db.session.commit()
    login_user(user)  # this browser stays signed in, with the new session version
    flash("Password changed. You were signed out everywhere else.", "ok")
    return redirect(url_for("account.password"))
