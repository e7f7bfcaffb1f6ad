"""The portal's side of Email conversation: the participant answers in the portal instead of by
email (app.conversations.operations.portal_reply, asked as their magic link; the portal's form token)."""
from __future__ import annotations

from flask import redirect, request, url_for

from app.conversations import operations
from app.errors import APIError
from app.extensions import db, limiter
from app.portal.routes import actor_of, bp, check_form, client_ip, current_link, render_page


@bp.post("/runs/<int:run_id>/email-reply")
@limiter.limit("20/minute", key_func=client_ip)
def email_reply(run_id: int):
    link = current_link()
    check_form()
    try:
        operations.portal_reply(run_id, request.form.get("body", ""), link, actor_of(link))
    except APIError as exc:
        db.session.rollback()
        return render_page(link, errors={"body" if "body" in (exc.details or {}) else "_": [exc.message]},
                           status=exc.status)
    return redirect(url_for("portal.home") + f"#run-{run_id}")
