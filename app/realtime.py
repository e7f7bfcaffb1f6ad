"""Real-time messages over Flask-SocketIO with the Redis message queue, so workers can emit too.

Messages carry ids, statuses and counts only, never Field values: what a browser may read it
fetches through the permission-checked API."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_login import current_user
from flask_socketio import join_room
from app.extensions import socketio
from flask import request
from app import permissions
from app.extensions import db
from app.models import Process, Task

def init_app(app) -> None:
    """Socket.IO handlers: a signed-in browser joins rooms it may see (`process:<id>`, `task:<id>`,
    `user:<id>`, `dashboards`). Permission for a room is decided by `may_join`."""

    @socketio.on("connect")
    def _connect(auth=None):

        if not origin_allowed(request.headers.get("Origin")):
            return False  # another site's page using the signed-in user's cookie (cross-site WebSocket hijacking)
        if not current_user.is_authenticated:
            return False  # refuse anonymous sockets
        join_room(f"user:{current_user.id}")
        return True

    @socketio.on("join")
    def _join(data):
        room = (data or {}).get("room", "") if isinstance(data, dict) else ""
        if not may_join(current_user, room):
            return {"ok": False, "error": "forbidden"}
        join_room(room)
        return {"ok": True}


def _origin(url: str) -> str:
    """scheme://host[:port] in the form browsers send it (no default port)."""
    parts = urlsplit(url.strip().lower())
    default = {"http": ":80", "https": ":443"}.get(parts.scheme)
    netloc = parts.netloc[: -len(default)] if default and parts.netloc.endswith(default) else parts.netloc
    return f"{parts.scheme}://{netloc}"


def origin_allowed(origin: str | None) -> bool:
    """Browsers always send Origin on a Socket.IO handshake: it must be PROCLY_BASE_URL's. Clients
    that are not browsers send none and carry no ambient cookie of a victim, so they pass here."""
    if origin is None:
        return True
    return _origin(origin) == _origin(current_app.config["PROCLY_BASE_URL"])


def may_join(user, room: str) -> bool:
    """The room's object decides through app.permissions: `process:<id>` as "process.watch" (the
    same rule as the builder's live counts), `task:<id>` as "task.view" (the Task page, the API)."""
    if not user.is_authenticated or ":" not in room and room != "dashboards":
        return False
    if room == "dashboards":
        return user.role in ("admin", "manager", "designer")
    kind, _, ident = room.partition(":")
    if not (ident.isascii() and ident.isdigit() and len(ident) < 16):
        return False
    if kind in ("process", "task"):

        obj = db.session.get(Process if kind == "process" else Task, int(ident))
        who = getattr(user, "_get_current_object", lambda: user)()    # the User behind current_user
        return obj is not None and permissions.allowed(who, "process.watch" if kind == "process" else "task.view",
                                                       obj)
    return kind == "user" and int(ident) == user.id
