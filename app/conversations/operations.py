"""Writing conversations, in the caller's transaction: the first email of a run (`start`, the stage
type's `perform`, in a worker), staff replies (`reply`), a verified reply coming in (`record_reply`),
marking the conversation done (`mark_done`). Every message is a MailMessage, a Comment on the run's
Thread and an Event; every email leaves through the outbox (sent after commit, retried)."""
from __future__ import annotations

import uuid
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import select

from app import clock, notifications, permissions, stages
from app.conversations import parse, tokens
from app.errors import APIError, Invalid
from app.extensions import db
from app.files import operations as files
from app.infra.queue import publish_after_commit
from app.models import Comment, Event, MagicLink, MailMessage, StageRun, User
from app.notifications import threads
from app.stages import mail_templates
from app.tasks import operations as task_ops

TYPE_KEY = "email_conversation"
MAX_REPLY = 20_000


def _valid_address(to: str) -> str:
    to = (to or "").strip()
    name, addr = parseaddr(to)
    if not addr or addr != to or "@" not in addr or len(addr) > 254 or any(c in addr for c in "\r\n\t ,;<>\""):
        raise ValueError(f"not a single email address: {to[:80]!r}")
    return addr


def participant_address(task_id: int) -> str:
    """The email of the participant invited to the Task most recently (an unrevoked, unexpired link)."""
    link = db.session.scalar(select(MagicLink).where(
        MagicLink.task_id == task_id, MagicLink.revoked_at.is_(None), MagicLink.expires_at > clock.now())
        .order_by(MagicLink.id.desc()).limit(1))
    if link is None:
        raise LookupError("no participant is invited to this Task: invite one, or send to an email Field")
    return link.participant.email


def _comment(run: StageRun, label: str, body: str, user: User | None = None) -> Comment:
    """The message on the run's Thread (internal: the participant's portal shows external comments only)."""
    thread = threads.thread_of(run, create=True)
    comment = Comment(thread_id=thread.id, author_user_id=user.id if user else None, author_label=label[:254],
                      body=body[:MAX_REPLY + 600], external=False, created_at=clock.now())
    db.session.add(comment)
    db.session.flush()
    publish_after_commit("comment.created", {"task": run.task_id, "run": run.id, "comment": comment.id,
                                             "external": False}, room=f"task:{run.task_id}")
    return comment


def _event(run: StageRun, type_: str, actor: str, **data) -> None:
    db.session.add(Event(type=type_, task_id=run.task_id, stage_run_id=run.id, process_id=run.process_id,
                         actor=actor[:64], data=data, created_at=clock.now()))


def send(run: StageRun, to: str, subject: str, text: str, html: str, *, user: User | None = None,
         parent: MailMessage | None = None, actor: str = "system") -> MailMessage:
    """One email of the run's conversation, with a fresh signed reply address and threading headers."""
    to = _valid_address(to)
    subject = mail_templates.one_line(subject)
    message = MailMessage(stage_run_id=run.id, task_id=run.task_id, direction="out",
                          message_id=f"{uuid.uuid4().hex}@{tokens.domain()}",
                          in_reply_to=parent.message_id if parent else None,
                          sender=current_app.config.get("MAIL_FROM", ""), recipient=to, subject=subject,
                          body_text=text, body_html=html, attachments=[], author_user_id=user.id if user else None,
                          created_at=clock.now())
    db.session.add(message)
    db.session.flush()
    headers = {"Message-ID": f"<{message.message_id}>",
               "Reply-To": tokens.address(tokens.make(run.id, message.id))}
    if parent is not None:
        earlier = db.session.scalars(select(MailMessage.message_id).where(
            MailMessage.stage_run_id == run.id, MailMessage.id < message.id).order_by(MailMessage.id)).all()
        headers["In-Reply-To"] = f"<{parent.message_id}>"
        headers["References"] = " ".join(f"<{m}>" for m in earlier[-20:])
    row = notifications.queue_email(to, subject, text, kind="conversation", html=html, headers=headers)
    db.session.flush()
    message.outbox_id = row.id
    label = user.name if user else "Procly"
    message.comment_id = _comment(run, f"✉ {label} → {to}", f"{subject}\n\n{text}", user).id
    _event(run, "email.sent", actor, message=message.id, to=to, stage=run.stage_key)
    return message


def start(ctx: stages.StageContext, *, to: str | None, subject: str, text: str, html: str) -> str:
    """The first email of a run (the stage type's `perform`, in a worker): returns the address."""
    run = db.session.get(StageRun, ctx.run_id)
    address = to or participant_address(ctx.task_id)
    return send(run, address, subject, text, html).recipient


def _conversation_run(run_id: int, user, operation: str) -> StageRun:
    run = task_ops.get_run(run_id, user)
    if permissions.stage_for(run).get("type") != TYPE_KEY:
        raise Invalid(f"Stage run {run_id} is not an email conversation.", {"run": ["not an email conversation"]},
                      status=409, code="conflict")
    permissions.check(user, operation, run)
    return run


def messages(run: StageRun) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.stage_run_id == run.id)
                                   .order_by(MailMessage.id)))


def conversation(run_id: int, user) -> tuple[StageRun, list[MailMessage]]:
    """The run (404 unless `user` may see it) and its emails."""
    run = _conversation_run(run_id, user, "run.view")
    return run, messages(run)


def reply(run_id: int, body: str, user, actor: str) -> MailMessage:
    """A staff reply from the Task page or the API: to the conversation's address, threaded under the
    last email, with a fresh reply token."""
    run = _conversation_run(run_id, user, "run.reply")
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid("A reply needs some text.", {"body": ["required"]})
    if len(body) > MAX_REPLY:
        raise Invalid(f"A reply is at most {MAX_REPLY:,} characters.", {"body": ["too long"]})
    if run.status != "in_progress":
        raise APIError(f"The conversation of stage run {run_id} is {run.status.replace('_', ' ')}.",
                       {"status": [run.status]}, status=409, code="conflict")
    earlier = messages(run)
    first = next((m for m in earlier if m.direction == "out"), None)
    if first is None:
        raise APIError("The first email has not been sent yet.", {"run": ["no email yet"]}, status=409,
                       code="conflict")
    parent = earlier[-1]
    subject = parent.subject if parent.subject.lower().startswith("re:") else f"Re: {parent.subject}"
    return send(run, first.recipient, subject, body, mail_templates.text_to_html(body), user=user, parent=parent,
                actor=actor)


def mark_done(run_id: int, user, actor: str) -> StageRun:
    """Staff finish the conversation: the run completes (needs "run.complete")."""
    run = _conversation_run(run_id, user, "run.complete")
    _event(run, "email.conversation_done", actor, stage=run.stage_key)
    return task_ops.receive_input(run_id, stages.InputKind.submit, {}, actor, user=user)


def keep_reply_attachments(run: StageRun, message: MailMessage, attachments: list[parse.Attachment]) -> None:
    """A reply's attachments: with a file Field to keep them in (config `attachments_field`), each
    is checked like an upload (size, kind from the content, a sanitised name) and becomes a file of
    the Task; refused ones, or all when no Field is set, are only listed on the message with why."""
    config = stages.loaded_config(stages.get(TYPE_KEY), permissions.stage_for(run).get("config") or {})
    field = config.get("attachments_field") or ""
    kept = []
    for a in attachments:
        entry = {"name": a.name, "type": a.type, "size": a.size}
        if not field:
            entry["refused"] = "not kept: this step keeps no attachments"
        else:
            try:
                entry["file"] = files.store_attachment(run, field, a.name, a.content, kinds=config["attachment_kinds"],
                                                       max_size_mb=config["attachment_max_mb"], actor="email").id
            except APIError as exc:
                entry["refused"] = exc.message
        kept.append(entry)
    message.attachments = kept


def record_reply(run: StageRun, answered: MailMessage, mail: parse.ParsedMail, via: str = "email") -> MailMessage:
    """A verified reply: a message of the run, a Comment on its Thread, an Event."""
    message = MailMessage(stage_run_id=run.id, task_id=run.task_id, direction="in",
                          message_id=mail.message_id or f"{uuid.uuid4().hex}@unknown",
                          in_reply_to=answered.message_id, sender=mail.sender or "unknown",
                          recipient=answered.recipient, subject=mail.subject, body_text=mail.text,
                          body_html=mail.html or None, attachments=[], created_at=clock.now())
    db.session.add(message)
    db.session.flush()
    keep_reply_attachments(run, message, mail.attachments)
    names = ", ".join(a["name"] + (f" (refused: {a['refused']})" if a.get("refused") else "")
                      for a in message.attachments)
    body = mail.text or "(no text)"
    message.comment_id = _comment(run, f"✉ {mail.sender or 'unknown sender'}",
                                  body + (f"\n\nAttachments: {names}" if names else "")).id
    _event(run, "email.received", via, message=message.id, sender=mail.sender, stage=run.stage_key,
           attachments=len(message.attachments), via=via)
    return message


def portal_reply(run_id: int, body: str, link: MagicLink, actor: str) -> MailMessage:
    """The participant answers in the portal instead of by email: the same as a verified reply (a
    MailMessage "in", a Comment, an Event, the run told), from the participant's own address."""
    run = task_ops.get_run(run_id, link)
    if permissions.stage_for(run).get("type") != TYPE_KEY:
        raise Invalid(f"Stage run {run_id} is not an email conversation.", {"run": ["not an email conversation"]},
                      status=409, code="conflict")
    permissions.check(link, "run.reply", run)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid("Write a message first.", {"body": ["required"]})
    if len(body) > MAX_REPLY:
        raise Invalid(f"A message is at most {MAX_REPLY:,} characters.", {"body": ["too long"]})
    if run.status != "in_progress":
        raise APIError("This conversation has finished.", {"status": [run.status]}, status=409, code="conflict")
    earlier = messages(run)
    if not earlier:
        raise APIError("The first email has not been sent yet.", {"run": ["no email yet"]}, status=409, code="conflict")
    subject = earlier[-1].subject if earlier[-1].subject.lower().startswith("re:") else f"Re: {earlier[-1].subject}"
    mail = parse.ParsedMail(sender=link.participant.email, recipients=[], subject=subject,
                            message_id=f"{uuid.uuid4().hex}@portal.{tokens.domain()}", in_reply_to=earlier[-1].message_id,
                            text=body, html="", attachments=[], automatic=False)
    message = record_reply(run, earlier[-1], mail, via="portal")
    task_ops.receive_input(run.id, stages.InputKind.callback, {"message": message.id}, actor)
    return message
