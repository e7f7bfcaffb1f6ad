"""Callbacks from outside systems to the Stage Runs waiting on them (External Service): POST
/api/v1/callbacks/<token>, the URL the run's request carried.

The token (app.runtime.callbacks) is the call's only credential: it names one run attempt and is
signed with the app's key, so a caller can neither make one nor change what it names. It is single
use and expires. Each refusal answers in the API's error shape, is logged (a warning) and is recorded
as an Event `callback.refused` (why, the caller's address, the run when the token names one), kept
even though nothing else of the request is:

| the call | answer |
|---|---|
| a malformed or forged token (bad signature) | 401 `bad_token` |
| an expired token, a token of an earlier attempt, a run that no longer waits (completed, timed out by a Route, cancelled, failed) or no longer exists | 410 `late` |
| a token already used | 409 `replayed` |
| a body that is not a JSON object, or over 256 KB | 400 / 413 (token not used) |
| values outside the Stage's writes, of the wrong type, or missing what its results read | 403 / 422 (token not used: a corrected call may follow) |
| the run's attempt is still sending its request (the answer raced ahead of it) | 503 with Retry-After (not a refusal) |

An accepted callback marks the token used, writes the values (checked by the core against the
Stage's writes and the Fields' types) and completes the run, in one transaction."""
from __future__ import annotations

import json
import logging

from app import clock, stages
from app.errors import APIError
from app.extensions import db
from app.models import Event, StageRun
from app.runtime import callbacks
from app.tasks.operations import receive_input

MAX_BODY = 256 * 1024
ACTOR = "callback"
log = logging.getLogger(__name__)


class CallbackRefused(APIError):
    """A refused callback; `run` when its token named one."""

    def __init__(self, message: str, *, status: int, code: str, run: StageRun | None = None):
        super().__init__(message, {"token": [message]}, status=status, code=code)
        self.run_id, self.task_id, self.process_id = (run.id, run.task_id, run.process_id) if run else (None,) * 3


class NotWaitingYet(APIError):
    """The token's attempt is still being performed: the caller should retry shortly."""
    status, code = 503, "not_ready"
    retry_after = 2


def _payload(body: bytes):
    if len(body) > MAX_BODY:
        raise APIError(f"The callback's body is over {MAX_BODY // 1024} KB.", {"body": ["too large"]}, status=413,
                       code="too_large")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise APIError("The callback's body is not JSON.", {"body": ["invalid JSON"]}) from None
    if not isinstance(payload, dict):
        raise APIError("The callback's body must be a JSON object.", {"body": ["expected an object"]})
    return payload


def receive(token: str, body: bytes) -> StageRun:
    """Verify the token, then hand the body to the run as its `callback` input (see the table above)."""
    try:
        named = callbacks.verify(token)
    except callbacks.BadToken as exc:
        raise CallbackRefused(str(exc), status=401, code="bad_token") from None
    run = db.session.get(StageRun, named.run_id)
    if run is None:
        raise CallbackRefused("the Stage Run no longer exists", status=410, code="late")
    if named.expired:
        raise CallbackRefused("the callback token has expired", status=410, code="late", run=run)
    record = (run.data or {}).get("callback") or {}
    if run.attempt == named.attempt == record.get("attempt") and record.get("used_at"):
        raise CallbackRefused("the callback token was already used", status=409, code="replayed", run=run)
    if run.status not in ("pending", "started", "in_progress"):   # finished, moved by a Route, cancelled, failed
        raise CallbackRefused(f"the Stage Run is {run.status}; it no longer waits for a callback", status=410,
                              code="late", run=run)
    payload = _payload(body)

    def still_waiting(t, fresh: StageRun) -> None:
        """Under the Task's lock, on the fresh run: the token's attempt waits and was not used."""
        record = (fresh.data or {}).get("callback") or {}
        if fresh.attempt == named.attempt and fresh.status in ("pending", "started"):
            raise NotWaitingYet("The Stage Run is still sending its request; call again shortly.",
                                {"token": ["not waiting yet"]})
        if fresh.attempt != named.attempt or record.get("attempt") != named.attempt:
            raise CallbackRefused(f"the token is for attempt {named.attempt}; the Stage Run is on attempt "
                                  f"{fresh.attempt}", status=410, code="late", run=fresh)
        if record.get("used_at"):
            raise CallbackRefused("the callback token was already used", status=409, code="replayed", run=fresh)
        if fresh.status != "in_progress":
            raise CallbackRefused(f"the Stage Run is {fresh.status}; it no longer waits for a callback", status=410,
                                  code="late", run=fresh)
        callbacks.mark_used(fresh)

    return receive_input(run.id, stages.InputKind.callback, {"body": payload}, ACTOR, before=still_waiting)


def record_refusal(token: str, error: APIError, remote: str | None) -> None:
    """Log and record (an Event, in a transaction of its own) why a callback was refused."""
    run_id = getattr(error, "run_id", None)
    task_id, process_id = getattr(error, "task_id", None), getattr(error, "process_id", None)
    if run_id is None:   # a refused body or values: the token was good, name its run
        try:
            named = callbacks.verify(token)
            run = db.session.get(StageRun, named.run_id)
            if run is not None:
                run_id, task_id, process_id = run.id, run.task_id, run.process_id
        except callbacks.BadToken:
            pass
    log.warning("callback refused (%s %s) from %s for run %s: %s", error.status, error.code, remote or "-", run_id,
                error.message)
    db.session.add(Event(type="callback.refused", task_id=task_id, stage_run_id=run_id, process_id=process_id,
                         actor=ACTOR, created_at=clock.now(),
                         data={"status": error.status, "code": error.code, "reason": error.message[:500],
                               "details": error.details if error.status in (403, 422) else {},
                               "remote": remote, "token": token[:12] + "…"}))
