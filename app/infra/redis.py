"""The one way to a Redis client: one pooled client per (REDIS_URL, decoding) per process, with
bounded waits (a Redis that is down answers ConnectionError at once, one that hangs a TimeoutError)."""
from __future__ import annotations

from flask import current_app
from redis import Redis

_clients: dict[tuple[str, bool], Redis] = {}


def connection(*, decode: bool = False) -> Redis:
    """The app's Redis; `decode=True` answers str instead of bytes."""
    url = current_app.config["REDIS_URL"]
    key = (url, decode)
    if key not in _clients:
        _clients[key] = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=15,
                                       decode_responses=decode)
    return _clients[key]
