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
