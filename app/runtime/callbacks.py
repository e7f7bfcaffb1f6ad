"""Callback URLs of Stage Runs that wait for an outside system (the External Service stage type):
`<PROCLY_BASE_URL>/api/v1/callbacks/<token>`, one per run attempt.

The token names the Stage Run, its attempt and when it expires, and carries a 128-bit HMAC-SHA256 of
the three keyed from SECRET_KEY: only Procly can make one, and nobody can change what it names.
It is single use: the run keeps `data["callback"] = {"attempt", "expires", "used_at"}`, the
acceptance of a callback stamps `used_at` in the transaction that completes the run, and a token is
accepted only for the attempt it was made for, while that attempt waits (app.inbound.callbacks)."""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from flask import current_app

from app import clock
from app.infra import signing
from app.models import StageRun

PATH = "/api/v1/callbacks/"
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z]{1,6})-([0-9a-z]{1,13})-([a-z2-7]{26})$")


class BadToken(ValueError):
    """A callback token that is malformed or forged (bad signature)."""


@dataclass(frozen=True)
class CallbackToken:
    run_id: int
    attempt: int
    expires: int          # Unix time

    @property
    def expired(self) -> bool:
        return self.expires <= signing.now()


def _signature(run_id: int, attempt: int, expires: int) -> str:
    return signing.signature(b"procly stage callback v1", run_id, attempt, expires)


def make(run_id: int, attempt: int, expires: int) -> str:
    return f"{signing.b36(run_id)}-{signing.b36(attempt)}-{signing.b36(expires)}-{_signature(run_id, attempt, expires)}"


def issue(run: StageRun, valid_for: float) -> str:
    """The callback URL of the run's current attempt, valid for `valid_for` seconds; the run keeps
    what makes it single use. Asking again in the same attempt renews it (same attempt, new expiry)."""
    expires = signing.now() + int(valid_for)
    run.data = {**(run.data or {}), "callback": {"attempt": run.attempt, "expires": expires, "used_at": None}}
    base = str(current_app.config.get("PROCLY_BASE_URL") or "").rstrip("/")
    return f"{base}{PATH}{make(run.id, run.attempt, expires)}"


def verify(token: str) -> CallbackToken:
    """What a token names; raises BadToken when it is malformed or its signature is not ours. Expiry
    is the caller's to check (`expired`): a late callback is refused with its own answer."""
    m = _TOKEN.match((token or "").strip())
    if not m:
        raise BadToken("malformed callback token")
    run_id, attempt, expires = (int(g, 36) for g in m.groups()[:3])
    if not hmac.compare_digest(m.group(4), _signature(run_id, attempt, expires)):
        raise BadToken("forged callback token (bad signature)")
    return CallbackToken(run_id, attempt, expires)


def mark_used(run: StageRun) -> None:
    record = dict((run.data or {}).get("callback") or {})
    record["used_at"] = clock.now().isoformat()
    run.data = {**(run.data or {}), "callback": record}
