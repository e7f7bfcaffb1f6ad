"""Real-time messages over Flask-SocketIO with the Redis message queue, so workers can emit too.

Messages carry ids, statuses and counts only, never Field values: what a browser may read it
fetches through the permission-checked API."""
from __future__ import annotations

from flask import current_app
from flask_socketio import SocketIO

_emitters: dict[str, SocketIO] = {}


def _emitter() -> SocketIO:
    url = current_app.config["REDIS_URL"]
    if url not in _emitters:
        _emitters[url] = SocketIO(message_queue=url)
    return _emitters[url]


def emit_many(messages: list[tuple[str, dict, str]]) -> None:
    if current_app.config.get("REALTIME_DISABLED"):
        return
    em = _emitter()
    for name, payload, room in messages:
        em.emit(name, payload, to=room, namespace="/")
