"""/account/secrets: the page where designers and admins manage their Teams' secrets. A value is
typed once and never shown again; the page lists names and when each was changed and last used."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.errors import APIError
from app.extensions import db
from app.models import Team
from app.permissions import privileged_for
from app.vault import operations
from app.vault.schemas import SecretCreateSchema, SecretReplaceSchema
from app.web.routes import account_bp


def _page(status: int = 200):
    user = current_user._get_current_object()
    teams = [t for t in db.session.query(Team).order_by(Team.name) if privileged_for(user, t.id)]
    return render_template("web/secrets.html", secrets=operations.list_secrets(user), teams=teams), status


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.messages.items())
    return getattr(exc, "message", str(exc))


@account_bp.get("/secrets")
@login_required
def secrets():
    return _page()


@account_bp.post("/secrets")
@login_required
def create_secret():
    try:
        data = SecretCreateSchema().load({k: request.form.get(k, "") for k in ("team", "name", "value", "description")})
        secret = operations.create_secret(current_user._get_current_object(), data, f"user:{current_user.id}")
    except (APIError, ValidationError) as exc:
        db.session.rollback()
        flash(_problem(exc), "error")
        return _page(status=getattr(exc, "status", 422))
    flash(f"Secret {secret.name} saved for team {secret.team.name}. Its value will not be shown again.", "ok")
    return redirect(url_for("account.secrets"))


@account_bp.post("/secrets/<int:secret_id>/replace")
@login_required
def replace_secret(secret_id: int):
    try:
        data = SecretReplaceSchema().load({"value": request.form.get("value", "")})
        secret = operations.replace_secret(current_user._get_current_object(), secret_id, data,
                                           f"user:{current_user.id}")
    except (APIError, ValidationError) as exc:
        db.session.rollback()
        flash(_problem(exc), "error")
        return _page(status=getattr(exc, "status", 422))
    flash(f"Secret {secret.name} replaced.", "ok")
    return redirect(url_for("account.secrets"))


@account_bp.post("/secrets/<int:secret_id>/delete")
@login_required
def delete_secret(secret_id: int):
    try:
        operations.delete_secret(current_user._get_current_object(), secret_id, f"user:{current_user.id}")
    except APIError as exc:
        db.session.rollback()
        flash(_problem(exc), "error")
        return _page(status=exc.status)
    flash("Secret deleted. Stages that name it fail until it exists again.", "ok")
    return redirect(url_for("account.secrets"))
