import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Outbox

LINK = re.compile(r"(https?://\S+/password/set/[A-Za-z0-9_-]+)")


def link_in_outbox(to: str) -> str:
    """The set-password link of the newest email to `to` in the outbox."""
    row = db.session.scalars(select(Outbox).where(Outbox.to == to).order_by(Outbox.id.desc())).first()
    assert row is not None, f"no email to {to}"
    return LINK.search(row.body).group(1)


@pytest.fixture
def admin_api(users, api_as):
    return api_as(users["admin"])


@pytest.fixture
def smtp_sink(app):
    """A real SMTP server (aiosmtpd) the outbox delivers to."""
    from aiosmtpd.controller import Controller

    from tests.conversations.conftest import Sink
    from tests.servers import free_port

    received, port = Sink(), free_port()
    ctl = Controller(received, hostname="127.0.0.1", port=port)
    ctl.start()
    old = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none", SMTP_USERNAME="")
    yield received
    ctl.stop()
    app.config.update(old)
