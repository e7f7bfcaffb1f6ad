"""Short signed tokens made of base-36 numbers and a truncated HMAC-SHA256 keyed from SECRET_KEY and
a purpose (email reply addresses, External Service callbacks): the pieces both token kinds share."""
from __future__ import annotations

import base64
import calendar
import hashlib
import hmac

from flask import current_app

from app import clock

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
        if not n:
            return out


def now() -> int:
    """The current time as whole seconds since the epoch (the tokens' expiry unit)."""
    return calendar.timegm(clock.now().timetuple())


def signature(purpose: bytes, *parts: int) -> str:
    """128 bits of HMAC-SHA256 over the parts, under a key derived from SECRET_KEY for `purpose`."""
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), purpose, hashlib.sha256).digest()
    mac = hmac.new(key, ".".join(map(str, parts)).encode(), hashlib.sha256).digest()[:16]
    return base64.b32encode(mac).decode().lower().rstrip("=")
