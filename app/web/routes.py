"""Login, logout and the signed-in home. Views are thin: they call app.auth and render."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from app.auth.passwords import verify_password
from app.extensions import db, limiter
from app.models import Event, Process, Task, User

bp = Blueprint("web", __name__)


@bp.get("/login")
def login():
    return render_template("web/login.html", email=request.args.get("email", ""))


@bp.post("/login")
@limiter.limit("10/minute;50/hour", key_func=lambda: request.form.get("email", "").lower() or request.remote_addr)
def login_post():
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        flash("Unknown email or wrong password.", "error")
        return render_template("web/login.html", email=email), 401
    login_user(user)
    db.session.add(Event(type="user.login", actor=f"user:{user.id}", data={"ip": request.remote_addr}))
    db.session.commit()
    return redirect(safe_next(request.args.get("next", "")))


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
