"""Sending real-time messages over Flask-SocketIO's Redis message queue, from any process (a web
request or an RQ job): messages carry ids, statuses and counts only, never Field values. The
Socket.IO handlers (who may join which room) are app.realtime."""
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
