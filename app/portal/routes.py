"""/portal: what a participant sees through a magic link. The link opens a session bound to that
one link; every request re-checks it (revoked or expired links stop working at once). Forms carry
a per-session token of their own (the app-wide CSRF check skips this blueprint)."""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select

from app import permissions
from app.errors import APIError
from app.infra.transaction import own_transaction
from app.extensions import db, limiter
from app.models import Field, StageRun
from app.models.portal import MagicLink
from app.notifications import threads
from app.participants import links
from app.tasks import operations as service
from app.tables import forms
from app.tables.values import validate_values
from app.stages import InputKind, InputRefused, StageContext, StageType, get as stage_type_of


def stage_type(stage: dict) -> StageType:
    """The Stage's type (one no longer installed shows as a plain person-worked Stage)."""
    return stage_type_of(stage["type"]) or stage_type_of("basic")


def stages_required(stage: dict, raw: dict) -> tuple[str, ...]:
    """The Fields the Stage's type requires of a participant's form."""
    type_ = stage_type(stage)
    ctx = StageContext(stage=stage, config=type_.validate(stage.get("config") or {}))
    try:
        return tuple(type_.receive(ctx, InputKind.participant, raw).required)
    except InputRefused:    # a type whose portal work is no form (a booking, an upload): nothing required
        return ()

bp = Blueprint("portal", __name__, url_prefix="/portal")
SESSION_KEY = "portal_link"


def client_ip() -> str:
    return request.remote_addr or "-"


@bp.get("/t/<token>")
@limiter.limit("10/minute;60/hour", key_func=client_ip)
@own_transaction("following an emailed link is a counted, audited use of a capability, refusals included")
def open_link(token: str):
    link = links.use(token, request.remote_addr)
    db.session.commit()
    if link is None:
        session.pop(SESSION_KEY, None)
        return render_template("portal/refused.html"), 404
    session[SESSION_KEY] = link.id
    session["portal_form"] = secrets.token_urlsafe(24)
    return redirect(url_for("portal.home"))


def current_link() -> MagicLink:
    link = db.session.get(MagicLink, session.get(SESSION_KEY) or 0)
    if links.check(link) is not None:
        session.pop(SESSION_KEY, None)
        abort(404)
    return link


def check_form() -> None:
    expected = session.get("portal_form", "")
    if not expected or not hmac.compare_digest(expected, request.form.get("form_token", "")):
        abort(400, "This form has expired: reload the page.")


def portal_run(link: MagicLink, run_id: int) -> permissions.PortalStage:
    for ps in permissions.participant_stages(link.participant, link.task):
        if ps.run.id == run_id:
            return ps
    abort(404)


def render_page(link: MagicLink, *, errors=None, submitted=None, status=200, notice=""):
    view = permissions.participant_view(link)
    fields = {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == link.task.table_id))}
    comments = {ps.run.id: threads.comments_of(ps.run, external_only=True) for ps in view["stages"]}
    types = {ps.run.id: {"type": stage_type(ps.stage), "required": stages_required(ps.stage, {})}
             for ps in view["stages"]}
    return render_template("portal/task.html", link=link, view=view, fields=fields, comments=comments, types=types,
                           errors=errors or {}, submitted=submitted or {}, notice=notice,
                           form_token=session.get("portal_form", "")), status


@bp.get("/")
def home():
    return render_page(current_link())


def actor_of(link: MagicLink) -> str:
    return f"participant:{link.participant_id}"


@bp.post("/runs/<int:run_id>/submit")
@limiter.limit("30/minute", key_func=client_ip)
def submit(run_id: int):
    link = current_link()
    check_form()
    ps = portal_run(link, run_id)
    if ps.mode != "action" or not ps.writes:
        abort(403)
    fields = {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == link.task.table_id))}
    submitted, raw = forms.submitted(request.form, fields, sorted(ps.writes))
    required = stages_required(ps.stage, raw)
    clean, errors = validate_values(fields, raw, required=tuple(k for k in required if k in ps.writes),
                                    allowed=ps.writes)
    if errors:
        return render_page(link, errors=errors, submitted=submitted, status=422)
    try:
        links.resume_from_participant(run_id, actor_of(link))
        service.act(run_id, "complete", actor_of(link), user=link,
                    values={k: v for k, v in clean.items() if v is not None})
    except APIError as exc:
        db.session.rollback()
        details = {k.removeprefix("values."): v for k, v in (exc.details or {}).items()} \
            if isinstance(exc.details, dict) else {}
        return render_page(link, errors=details or {"_": [exc.message]}, submitted=submitted, status=exc.status)
    return redirect(url_for("portal.home", done=run_id))


@bp.post("/runs/<int:run_id>/decide")
@limiter.limit("30/minute", key_func=client_ip)
def decide(run_id: int):
    link = current_link()
    check_form()
    ps = portal_run(link, run_id)
    action = request.form.get("action")
    if not ps.can_approve or action not in ("approve", "reject"):
        abort(403)
    try:
        service.act(run_id, action, actor_of(link), user=link, comment=request.form.get("comment", "")[:2000])
    except APIError as exc:
        db.session.rollback()
        return render_page(link, errors={"_": [exc.message]}, status=exc.status)
    return redirect(url_for("portal.home"))


@bp.post("/runs/<int:run_id>/comments")
@limiter.limit("30/minute", key_func=client_ip)
def comment(run_id: int):
    link = current_link()
    check_form()
    ps = portal_run(link, run_id)
    run = db.session.get(StageRun, ps.run.id)
    try:
        threads.add_comment(run, request.form.get("body", ""), external=True, actor=actor_of(link),
                            label=link.participant.name or link.participant.email, who=link)
    except APIError as exc:
        db.session.rollback()
        return render_page(link, errors={"_": [exc.message]}, status=exc.status)
    return redirect(url_for("portal.home") + f"#run-{run_id}")
