"""API tokens: random secrets shown once, stored as SHA-256, with a scope (read / write / admin), an
optional expiry, and a parent when minted by another token. A token works only while it and every
ancestor are unrevoked and unexpired: revoking a parent kills its children at their next use."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock
from app.errors import Forbidden, Invalid
from app.extensions import db
from app.models import ApiToken, Role, Scope, User
from app.models.accounts import SCOPE_ORDER
from app import permissions

PREFIX = "prc_"
TOUCH_SECONDS = 60   # last_used_at's resolution


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_covers(have: str, need: str) -> bool:
    return SCOPE_ORDER.index(Scope(have)) >= SCOPE_ORDER.index(Scope(need))


def issue_token(user: User, name: str, *, scope: str = Scope.write, expires_at: datetime | None = None,
                parent: ApiToken | None = None) -> tuple[ApiToken, str]:
    """Mint a token. A child (minted with `parent`) never gets more scope or a later expiry than it."""
    scope = Scope(scope)
    if expires_at is not None and expires_at <= clock.now():
        raise Invalid("The expiry must be in the future.", {"expires_at": ["must be in the future"]})
    if scope == Scope.admin and user.role != Role.admin:
        raise Forbidden("Only admins may create tokens with the admin scope.")
    if parent is not None:
        if not scope_covers(parent.scope, scope):
            raise Forbidden(f"A {parent.scope} token cannot create a {scope} token.",
                            {"scope": parent.scope, "requested": scope.value}, code="insufficient_scope")
        if len(parent.lineage()) >= ApiToken.MAX_GENERATIONS:
            raise Forbidden(f"Tokens may be created by tokens at most {ApiToken.MAX_GENERATIONS} deep.")
        if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
            expires_at = parent.expires_at  # a child never outlives its parent
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_digest(secret), prefix=secret[:10], scope=scope,
                     expires_at=expires_at, parent=parent)
    db.session.add(token)
    db.session.flush()
    return token, secret


def user_for_token(secret: str) -> tuple[User, ApiToken] | None:
    """The token's user and the token, or None: token and user in one query, the user's Teams (which
    every permission check reads) in a second. `last_used_at` is written at most once a minute
    (TOUCH_SECONDS), not on every call: a busy client would otherwise update the token's row in every
    request, and all its concurrent requests would queue on that row's lock until each one commits."""
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user).selectinload(User.teams))
                              .where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.why_inactive is not None or not token.user.active:
        return None
    now = clock.now()
    if token.last_used_at is None or not timedelta(0) <= now - token.last_used_at < timedelta(seconds=TOUCH_SECONDS):
        token.last_used_at = now
    return token.user, token


def revoke_token(token: ApiToken, who, *, any_user: bool = False) -> None:
    """Revoke a token (its children die with it, checked at use). `who` may revoke their own tokens;
    with `any_user`, an admin anyone's (app.permissions decides; None is the system)."""

    permissions.check(who, "token.revoke_any" if any_user else "token.revoke", token)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
