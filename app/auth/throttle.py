"""Sign-in throttling. Failed sign-ins are counted in Redis (flask-limiter's storage) under several
keys at once, and a sign-in is refused (429) while any of them is used up:

- address + account: one address guessing one password;
- address (IPv6 by /64): one address trying many accounts (password spraying);
- account, slower: many addresses guessing one account.

A per-account limit alone would let a stranger lock the owner out. So a browser that has signed in
to an account before carries a signed "known device" cookie for it; its attempts for that account
count against that device only (OWASP's device cookies), and the owner gets in during an attack.
Only failures count: an office behind one address signing in all day is never throttled."""
from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse_many
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.extensions import limiter
from limits.storage import MemoryStorage

log = logging.getLogger(__name__)

LIMITS = {
    "pair": parse_many("10/minute;50/hour"),
    "address": parse_many("20/10 minutes;100/day"),
    "account": parse_many("30/hour;100/day"),
    "device": parse_many("10/minute;50/hour"),
}
DEVICE_COOKIE = "procly_device"
DEVICE_DAYS = 180


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="procly-known-device")


def client_address() -> str:
    """The caller's address; IPv6 addresses by their /64, which one subscriber usually owns whole."""
    addr = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def known_device(user_id: int | None) -> str | None:
    """The device id of this browser's known-device cookie, if it was issued for `user_id`."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or user_id is None:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    return data.get("d") if isinstance(data, dict) and data.get("u") == user_id else None


@dataclass(frozen=True)
class Attempt:
    """The counters one sign-in attempt is checked against and, if it fails, charged to."""
    keys: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, email: str, user_id: int | None) -> Attempt:
        device = known_device(user_id)
        if device:
            return cls((("device", device),))
        addr = client_address()
        return cls((("pair", f"{addr}|{email}"), ("address", addr), ("account", email)))

    def _each(self):
        for kind, ident in self.keys:
            for item in LIMITS[kind]:
                yield item, f"login:{kind}", ident

    def retry_after(self) -> int | None:
        """Seconds until an attempt may be made again, or None if it may be made now."""
        if not limiter.enabled:
            return None
        return _counting(self._retry_after)

    def _retry_after(self, counter) -> int | None:
        waits = [int(counter.get_window_stats(item, scope, ident).reset_time - time.time()) + 1
                 for item, scope, ident in self._each() if not counter.test(item, scope, ident)]
        return max(waits) if waits else None

    def failed(self) -> None:
        if limiter.enabled:
            _counting(lambda counter: [counter.hit(item, scope, ident) for item, scope, ident in self._each()])


_memory = None


def _counting(use):
    """Run `use(counter)` on flask-limiter's Redis counters; while Redis is down, on counters in this
    process's memory instead (as flask-limiter's own in-memory fallback does): sign-in stays possible
    and still throttled, per process, instead of failing."""
    global _memory
    try:
        return use(limiter.limiter)
    except (RedisError, StorageError, OSError) as exc:
        log.warning("sign-in throttling on in-memory counters: Redis unreachable (%s)", exc)
        if _memory is None:

            _memory = type(limiter.limiter)(MemoryStorage())
        return use(_memory)


def remember_device(response, user_id: int) -> None:
    """After a successful sign-in: this browser is a known device of the account from now on."""
    if known_device(user_id):
        return
    value = _serializer().dumps({"u": user_id, "d": secrets.token_urlsafe(12)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False), path="/login")
