"""/portal/intake/<key>: a Process's public intake form — its start form, served to anyone (no
sign-in) while an admin has it switched on, and embeddable in other sites (the one page with a
frame-ancestors exception). A submission starts a Task through app.tasks.starting (start_task's
validation; the "intake.submit" rule instead of "process.start").

Spam control, all before anything is written: a per-address rate limit; a honeypot input people do
not see ("website"); and a signed form token saying when the form was served — a submission sooner
than INTAKE_MIN_SECONDS (3) after, or a day later, or without a valid token is refused. The token
needs no session cookie, so the form works inside another site's frame."""
from __future__ import annotations

import time

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from app.errors import APIError
from app.extensions import db, limiter
from app.headers import frameable
from app.tables import forms
from app.tasks import starting
from app.portal.routes import bp, client_ip

SALT = "procly.intake"
HONEYPOT = "website"
MAX_AGE = 24 * 3600


def form_token(key: str, issued: float | None = None) -> str:
    """A signed note of which form was served when."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).dumps(
        {"p": key, "t": round(time.time() if issued is None else issued, 3)})


def token_problem(key: str, token: str) -> str | None:
    """Why a submission's form token is refused, or None."""
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT).loads(token or "")
    except BadSignature:
        return "This form has expired: reload the page and send it again."
    age = time.time() - float(data.get("t", 0)) if isinstance(data, dict) and data.get("p") == key else -1
    if age < 0 or age > MAX_AGE:
        return "This form has expired: reload the page and send it again."
    if age < float(current_app.config.get("INTAKE_MIN_SECONDS", 3)):
        return "That was faster than a person types. Please check your answers and send the form again."
    return None


def _process(key: str):
    """The Process while its intake form is on; 404 otherwise (never saying whether it exists)."""
    try:
        process = starting.get_process(key)
    except APIError:
        abort(404)
    if not process.intake_enabled or not process.current_version:
        abort(404)
    return process


def _page(process, *, typed=None, errors=None, sent=False, status=200):
    html = render_template("portal/intake.html", process=process, fields=starting.start_fields(process),
                           typed=typed or {}, errors=errors or {}, sent=sent, token=form_token(process.key),
                           honeypot=HONEYPOT)
    response = make_response(html, status)
    return frameable(response, current_app.config.get("INTAKE_FRAME_ANCESTORS", "*"))


@bp.get("/intake/<key>")
@limiter.limit("60/minute", key_func=lambda: f"intake-view:{client_ip()}")
def intake(key: str):
    return _page(_process(key), sent=request.args.get("sent") == "1")


@bp.post("/intake/<key>")
@limiter.limit("5/minute;30/hour", key_func=lambda: f"intake:{client_ip()}")
def intake_submit(key: str):
    process = _process(key)
    typed, raw = starting.read_form(process, request.form)
    if request.form.get(HONEYPOT):
        return _page(process, typed=typed, errors={"_": ["Your request could not be accepted."]}, status=400)
    problem = token_problem(key, request.form.get("form_token", ""))
    if problem:
        return _page(process, typed=typed, errors={"_": [problem]}, status=400)
    try:
        # anyone: the anonymous user (never None, the system), or whoever happens to be signed in
        starting.start(process, raw, current_user._get_current_object(), f"intake:{process.key}", public=True)
    except APIError as exc:
        db.session.rollback()
        errors = forms.field_errors(exc.details) or {"_": [exc.message]}
        return _page(process, typed=typed, errors=errors, status=exc.status)
    return frameable(redirect(url_for("portal.intake", key=key, sent=1)))

