"""Inbound webhooks: create them (secret shown once) and start Tasks from signed calls.

A caller signs the raw request body with the webhook's secret:
`X-Procly-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. The body is JSON
`{"key": optional task key, "values": {...}}`; the Task starts on the webhook's Process or Split — or,
for a webhook made with a `signal`, that signal goes to the Task started under `key` (correlation).

A webhook acts with its creator's rights, checked at every call: creating one needs design rights
on its target ("webhook.create"), and each call starts the Task as the creator ("process.start" /
"split.start": only the definition's `start.writes`). A creator who has since lost those rights
(left the Team, deactivated) makes the webhook refuse (403)."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets

from flask import current_app, request
from sqlalchemy import select

from app import clock, permissions
from app.errors import APIError, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import Event, User
from app.models.webhooks import Webhook
from app.lookups import find_process, find_split
from app.tasks.operations import start_task
from app.tasks.signals import find_by_key, send_signal

HEADER = "X-Procly-Signature"
_KEY = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def create_webhook(data: dict, user: User) -> tuple[Webhook, str]:
    key = data["key"]
    if not _KEY.match(key):
        raise Invalid("Invalid webhook key.", {"key": ["lowercase letters, digits, - and _; 2-64 characters"]})
    if db.session.scalar(select(Webhook.id).where(Webhook.key == key)):
        raise Conflict(f'A webhook "{key}" already exists.', {"key": ["already exists"]})
    process_key, split_key = data.get("process"), data.get("split")
    if bool(process_key) == bool(split_key):
        raise Invalid("Give exactly one of process or split.", {"process": ["give process or split"]})
    if process_key:
        target = find_process(process_key)
        if target is None:
            raise Invalid(f'No process "{process_key}".', {"process": ["no such process"]})
    else:
        target = find_split(split_key)
        if target is None:
            raise Invalid(f'No split "{split_key}".', {"split": ["no such split"]})
    permissions.check(user, "webhook.create", target)
    secret = secrets.token_urlsafe(32)
    hook = Webhook(key=key, name=data.get("name") or key, process_key=process_key, split_key=split_key,
                   secret=secret, created_by_id=user.id, created_at=clock.now(), signal=data.get("signal"))
    db.session.add(hook)
    db.session.flush()
    db.session.add(Event(type="webhook.created", actor=f"user:{user.id}",
                         data={"webhook": key, "process": process_key, "split": split_key,
                               "signal": data.get("signal")}))
    return hook, secret


def verify(key: str, body: bytes, signature: str | None) -> Webhook:
    """The active webhook `key` if `signature` signs `body` with its secret: 404 for an unknown key,
    401 for a missing or bad signature."""
    hook = db.session.scalar(select(Webhook).where(Webhook.key == key, Webhook.active.is_(True)))
    if hook is None:
        raise NotFound(f'No webhook "{key}".')
    if not signature or not hmac.compare_digest(sign(hook.secret, body), signature.strip()):
        raise APIError("Missing or invalid signature.", {HEADER: ["expected sha256=<hex HMAC-SHA256 of the body>"]},
                       status=401, code="bad_signature")
    return hook


def caller_scope(key: str) -> str:
    """Idempotency keys of an inbound call belong to its webhook (checked: only a signed call may
    replay a stored response)."""
    return f"webhook:{verify(key, request.get_data(cache=True), request.headers.get(HEADER)).id}"


def receive(key: str, body: bytes, signature: str | None):
    """Verify the signature and start the Task: (Task, created). A `key` already started in the
    target Process answers with that Task (created False), as POST /tasks does."""

    hook = verify(key, body, signature)
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise Invalid("The body is not JSON.", {"body": ["invalid JSON"]}) from None
    if not isinstance(payload, dict):
        raise Invalid("The body must be a JSON object.", {"body": ["expected an object"]})
    values = payload.get("values") or {}
    if not isinstance(values, dict):
        raise Invalid("values must be an object.", {"values": ["expected an object"]})
    if hook.signal:
        return _signal(hook, payload.get("key"), values), False
    data = {"values": values, "key": payload.get("key"), "process": hook.process_key, "split": hook.split_key}
    task, created = start_task(data, _grant(hook), f"webhook:{hook.key}")
    hook.last_used_at = clock.now()
    return task, created


def _signal(hook: Webhook, key, values: dict):
    """A signal webhook's call: its signal to the Task started under `key` in its Process (for a Split
    webhook: in any Process), with the creator's rights."""
    if not isinstance(key, str) or not key:
        raise Invalid("A signal webhook needs the Task's key.", {"key": ["required: the Task to signal"]})
    task = find_by_key(key, hook.process_key)
    if task is None:
        raise NotFound(f'No task with the key "{key}".')
    send_signal(task, hook.signal, values, _grant(hook), f"webhook:{hook.key}")
    hook.last_used_at = clock.now()
    return task


def _grant(hook: Webhook) -> User | None:
    """Whose rights a call uses: the creator's (an inactive creator's rights are none: 403);
    webhooks made with no user (CLI, migrations) act as the system."""
    if hook.created_by_id is None:
        return None
    creator = db.session.get(User, hook.created_by_id)
    if creator is None or not creator.active:
        raise Forbidden(f'Webhook "{hook.key}" was made by someone who may no longer start Tasks.')
    return creator


INBOUND_ENDPOINTS = ("webhooks.inbound", "callbacks.callback")   # signed webhooks, External Service callbacks


def init_app(app) -> None:
    """Inbound calls carry no session cookie and no CSRF token: they are authenticated by their
    HMAC signature (webhooks) or their signed single-use token (callbacks), so they are dispatched
    before the cookie-session CSRF hook runs."""

    def _inbound():
        if request.endpoint in INBOUND_ENDPOINTS and request.method == "POST":
            return current_app.view_functions[request.endpoint](**(request.view_args or {}))
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, _inbound)
