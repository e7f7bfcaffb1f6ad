"""/dev/mail: the development mailbox. With no SMTP server configured the outbox keeps outgoing mail
here (app.notifications.mail) instead of failing in the worker log; admins read it, links clickable
(magic links included, which is why nobody else may)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from app import permissions
from app.errors import APIError
from app.extensions import db
from app.models.notifications import Outbox
from app.notifications import mail

bp = Blueprint("dev_mail", __name__, url_prefix="/dev")
URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Plain text, escaped, with its http(s) addresses as links."""
    out, last = [], 0
    for m in URL.finditer(text or ""):
        url = m.group(0).rstrip(".,;:)")
        out += [escape(text[last:m.start()]), Markup('<a href="{0}">{0}</a>').format(url)]
        last = m.start() + len(url)
    out.append(escape((text or "")[last:]))
    return Markup("").join(out)


@bp.get("/mail")
@login_required
def mailbox():
    try:
        permissions.check(current_user._get_current_object(), "outbox.read", None)
    except APIError as exc:
        abort(exc.status, exc.message)
    rows = db.session.scalars(select(Outbox).where(Outbox.kind != "webhook").order_by(Outbox.id.desc())
                              .limit(100)).all()
    return render_template("web/mailbox.html", rows=rows, active=mail.dev_mailbox_on(), linkify=linkify,
                           kept=mail.DEV_MAILBOX)
