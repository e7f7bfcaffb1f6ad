"""Who has a Process draft open in the builder, live over Socket.IO.

A browser emits ``builder:open`` {process}; it joins room ``draft:<key>`` and is tracked in Redis
(hash ``presence:draft:<key>``: socket id → user, expiring after ``TTL`` seconds unless refreshed by
another ``builder:open``). Everyone in the room receives ``builder:presence`` {process, users}."""
from __future__ import annotations

import json
import time

from flask import request
from flask_login import current_user
from flask_socketio import emit, join_room, leave_room

from app.extensions import socketio
from app.infra.redis import connection
from app.lookups import find_process

TTL = 90


def _redis():
    return connection(decode=True)


def users_in(key: str) -> list[dict]:
    r = _redis()
    now = time.time()
    seen: dict[int, dict] = {}
    for sid, raw in r.hgetall(f"presence:draft:{key}").items():
        entry = json.loads(raw)
        if now - entry.get("ts", 0) > TTL:
            r.hdel(f"presence:draft:{key}", sid)
            continue
        seen[entry["id"]] = {"id": entry["id"], "name": entry["name"]}
    return sorted(seen.values(), key=lambda u: u["name"])


def init_app(app) -> None:
    def broadcast(key: str) -> None:
        emit("builder:presence", {"process": key, "users": users_in(key)}, to=f"draft:{key}")

    @socketio.on("builder:open")
    def _open(data):
        key = (data or {}).get("process", "") if isinstance(data, dict) else ""
        if not current_user.is_authenticated or not isinstance(key, str):
            return {"ok": False}
        if find_process(key) is None:
            return {"ok": False, "error": "not_found"}
        r = _redis()
        entry = {"id": current_user.id, "name": current_user.name, "ts": time.time()}
        r.hset(f"presence:draft:{key}", request.sid, json.dumps(entry))
        r.expire(f"presence:draft:{key}", TTL)
        r.sadd(f"presence:sid:{request.sid}", key)
        r.expire(f"presence:sid:{request.sid}", TTL * 20)
        join_room(f"draft:{key}")
        broadcast(key)
        return {"ok": True, "users": users_in(key)}

    @socketio.on("builder:close")
    def _close(data):
        key = (data or {}).get("process", "") if isinstance(data, dict) else ""
        _leave(key)
        leave_room(f"draft:{key}")

    def _leave(key: str) -> None:
        r = _redis()
        r.hdel(f"presence:draft:{key}", request.sid)
        r.srem(f"presence:sid:{request.sid}", key)
        broadcast(key)

    @socketio.on("disconnect")
    def _disconnect(*_args):
        r = _redis()
        for key in r.smembers(f"presence:sid:{request.sid}"):
            _leave(key)
        r.delete(f"presence:sid:{request.sid}")
