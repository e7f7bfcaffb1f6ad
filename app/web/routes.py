"""Login, logout and the signed-in home. Views are thin: they call app.auth and render."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from app.auth import throttle
from app.auth.passwords import end_sessions, verify_password
from app.extensions import db
from app.models import Event, Process, Task, User

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
    db.session.commit()
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
    db.session.commit()
    logout_user()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home():
    processes = db.session.scalars(select(Process).where(Process.archived_at.is_(None)).order_by(Process.name)).all()
    running = dict(db.session.execute(
        select(Task.process_id, func.count()).where(Task.status == "running").group_by(Task.process_id)
    ).all())
    return render_template("web/home.html", processes=processes, running=running, user=current_user)
