"""API tokens: random secrets shown once, stored as SHA-256."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import ApiToken, User

PREFIX = "prc_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    return token, secret


def user_for_token(secret: str) -> tuple[User, ApiToken] | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = clock.now()
    return token.user, token


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = clock.now()
