"""One email in (from the SMTP receiver or the IMAP poller), as one unit of work: parse it, verify
its reply token, attach it to the run the token names, hand it to the run (the stage type's
`receive(ctx, "callback", …)`, which completes the run when the Stage finishes on the first reply),
commit. A message with no, a forged or an expired token, or a token that does not match an email
of its run, is dropped and logged, and never touches a Task."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import stages
from app.conversations import operations, parse, tokens
from app.extensions import db
from app.models import MailMessage, StageRun
from app.tasks import operations as task_ops

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    reason: str = ""
    message_id: int | None = None
    run_id: int | None = None


def _drop(reason: str, sender: str = "") -> Outcome:
    log.warning("mail-in: dropped a message from %s: %s", sender or "unknown sender", reason)
    return Outcome(False, reason)


def accept(raw: bytes, envelope_to=()) -> Outcome:
    """Handle one raw message; commits what it keeps. Raises only when the database fails (the
    caller answers "try again later" so the sending server retries)."""
    try:
        mail = parse.parse(raw, max_bytes=int(current_app.config.get("MAIL_IN_MAX_BYTES", parse.MAX_BYTES)))
    except parse.Unreadable as exc:
        return _drop(str(exc))
    token = tokens.find([*envelope_to, *mail.recipients])
    if token is None:
        return _drop("no reply address of ours", mail.sender)
    try:
        claim = tokens.verify(token)
    except tokens.BadToken as exc:
        return _drop(str(exc), mail.sender)
    if mail.automatic:
        return _drop(f"an automatic message (auto-reply or bounce) for run {claim.run_id}", mail.sender)
    for attempt in range(6):
        try:
            outcome = _attach(claim, mail)
            db.session.commit()
            return outcome
        except (StaleDataError, OperationalError) as exc:
            db.session.rollback()
            if attempt == 5 or not task_ops_conflict(exc):
                raise
            time.sleep(0.01 * 2 ** attempt)
    raise RuntimeError("unreachable")


def task_ops_conflict(exc: Exception) -> bool:
    return isinstance(exc, StaleDataError) or "locked" in str(exc) or getattr(
        getattr(exc, "orig", None), "sqlstate", None) in ("40001", "40P01", "55P03")


def _attach(claim: tokens.ReplyToken, mail: parse.ParsedMail) -> Outcome:
    answered = db.session.get(MailMessage, claim.message_id)
    run = db.session.get(StageRun, claim.run_id)
    if answered is None or run is None or answered.stage_run_id != run.id or answered.direction != "out":
        db.session.rollback()
        return _drop(f"the token of run {claim.run_id} does not match an email of that run", mail.sender)
    if mail.message_id:     # the same reply again (a sender retrying after 451, a mailbox polled twice)
        seen = db.session.scalar(select(MailMessage.id).where(
            MailMessage.stage_run_id == run.id, MailMessage.direction == "in", MailMessage.message_id == mail.message_id))
        if seen is not None:
            log.info("mail-in: reply %s to run %s was already kept", mail.message_id, run.id)
            return Outcome(True, "duplicate", seen, run.id)
    message = operations.record_reply(run, answered, mail)
    if run.status == "in_progress":
        task_ops.receive_input(run.id, stages.InputKind.callback, {"message": message.id}, "email")
    else:
        log.info("mail-in: reply %s kept on run %s, which is %s", message.id, run.id, run.status)
    return Outcome(True, "attached", message.id, run.id)
