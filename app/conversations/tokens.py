"""Signed reply addresses: `reply+<token>@<PROCLY_MAIL_DOMAIN>`, one per email sent.

The token names the Stage Run and the email it answers and when it expires, and carries an
HMAC-SHA256 of the three (128 bits, keyed from SECRET_KEY). Only Procly can make one; a reply is
attached only to the run its token names, and only while the token has not expired
(MAIL_REPLY_TOKEN_DAYS, default 30). Everything is lower-case base36 / base32 so mail servers that
change the case of a local part do not break it, and it fits in the 64 characters of a local part."""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from flask import current_app

from app.infra import signing

PREFIX = "reply+"
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z]{1,13})-([0-9a-z]{1,13})-([a-z2-7]{26})$")


class BadToken(ValueError):
    """A reply token that is malformed, forged or expired."""


@dataclass(frozen=True)
class ReplyToken:
    run_id: int
    message_id: int
    expires: int          # Unix time


def _signature(run_id: int, message_id: int, expires: int) -> str:
    return signing.signature(b"procly mail reply v1", run_id, message_id, expires)


def make(run_id: int, message_id: int, *, days: float | None = None) -> str:
    if days is None:
        days = float(current_app.config.get("MAIL_REPLY_TOKEN_DAYS", 30))
    expires = signing.now() + int(days * 86400)
    return f"{signing.b36(run_id)}-{signing.b36(message_id)}-{signing.b36(expires)}-{_signature(run_id, message_id, expires)}"


def domain() -> str:
    return str(current_app.config.get("PROCLY_MAIL_DOMAIN") or "localhost").lower()


def address(token: str) -> str:
    return f"{PREFIX}{token}@{domain()}"


def verify(token: str) -> ReplyToken:
    """The run and message a token names; raises BadToken (malformed, forged, expired)."""
    m = _TOKEN.match((token or "").strip().lower())
    if not m:
        raise BadToken("malformed reply token")
    run_id, message_id, expires = (int(g, 36) for g in m.groups()[:3])
    if not hmac.compare_digest(m.group(4), _signature(run_id, message_id, expires)):
        raise BadToken("forged reply token (bad signature)")
    if expires <= signing.now():
        raise BadToken("expired reply token")
    return ReplyToken(run_id, message_id, expires)


def token_in(address_: str) -> str | None:
    """The token of a reply address on our domain (any case), else None."""
    local, _, host = (address_ or "").strip().strip("<>").rpartition("@")
    if host.lower() != domain() or not local.lower().startswith(PREFIX):
        return None
    return local[len(PREFIX):].lower()


def find(addresses) -> str | None:
    """The first reply token among `addresses` (envelope recipients, then To / Cc / Delivered-To)."""
    for candidate in addresses:
        token = token_in(candidate)
        if token:
            return token
    return None
