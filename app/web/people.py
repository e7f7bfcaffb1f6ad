"""/admin/users: the admins' page of people and Teams (server-rendered; static/js/admin/users.js
does the changes through /api/v1/users and /api/v1/teams), and the public set-password pages:
`/password/set/<token>` (the link of an invitation or a reset) and `/password/forgot`."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import links, users
from app.auth.passwords import MIN_LENGTH
from app.errors import APIError
from app.extensions import db
from app.models import Role

people_bp = Blueprint("people_pages", __name__)


@people_bp.get("/admin/users")
@login_required
def admin_users():
    try:
        listed = users.list_users(current_user._get_current_object())
    except APIError as exc:
        abort(exc.status, exc.message)
    teams = users.list_teams(current_user._get_current_object())
    return render_template("web/admin_users.html", users=listed, teams=teams, roles=[r.value for r in Role],
                           me=current_user.id)


@people_bp.get("/password/set/<token>")
def set_password_page(token: str):
    link = links.find(token)
    status = 200 if link else 410
    return render_template("web/set_password.html", link=link, token=token, min_length=MIN_LENGTH), status


@people_bp.post("/password/set/<token>")
def set_password_post(token: str):
    try:
        user = links.consume(token, request.form.get("password", ""), request.form.get("confirm", ""))
    except APIError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("web/set_password.html", link=links.find(token), token=token,
                               min_length=MIN_LENGTH), exc.status
    flash("Your password is set. Sign in with it.", "ok")
    return redirect(url_for("web.login", email=user.email))


@people_bp.get("/password/forgot")
def forgot_page():
    return render_template("web/forgot.html")


@people_bp.post("/password/forgot")
def forgot_post():
    email = request.form.get("email", "").strip()
    if "@" not in email or len(email) > 254:
        flash("Type the email address you sign in with.", "error")
        return render_template("web/forgot.html"), 422
    users.forgot(email)
    flash("If that address has an account, a link to choose a new password is on its way. It works for 60 minutes.",
          "ok")
    return redirect(url_for("web.login"))
