"""`email_conversation` (Email conversation), automated: a worker sends the first email (the
participant or an address from an email Field, subject and body from templates over the Stage's
readable Fields) and the run waits *in progress* for the conversation to finish: on the first reply
or when staff mark it done (config `finish`), or by the Stage's SLA like any other.

Sending, reply addresses and replies belong to the conversation service (app.conversations, a
service: this module sits below it and must not import it). The service hands itself over at start
in `app.extensions[SERVICE]`, as the worker gets its app factory by name; `perform` asks it there."""
from __future__ import annotations

from typing import Protocol

import marshmallow as ma
from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from app.extensions import db
from app.models import MailMessage

from app.stages import mail_templates
from app.stages.base import (ConfigSchema, InputKind, InputRefused, Needs, Performed, StageContext, StageType,
                             Submission)
from app.stages.upload import DEFAULT_SIZE_MB, KINDS, MAX_SIZE_MB

SERVICE = "procly_conversations"
RECIPIENTS = {"participant": "The invited participant", "field": "The address in an email Field"}
FINISH = {"first_reply": "On the first reply", "staff_done": "When staff mark it done"}
PLACEHOLDER_HELP = "Placeholders: {{ field_key }} for any Field this Stage reads."


class ConversationService(Protocol):
    def start(self, ctx: StageContext, *, to: str | None, subject: str, text: str, html: str) -> str:
        """Queue the first email of the run (to `to`, or the invited participant when None); returns
        the address it goes to. Raises if there is nobody to send to."""


class EmailConfig(ConfigSchema):
    recipient = ma.fields.String(load_default="participant", validate=ma.validate.OneOf(list(RECIPIENTS)), metadata={
        "title": "Send to", "x-labels": RECIPIENTS,
        "description": "Who the conversation is with."})
    recipient_field = ma.fields.String(load_default="", metadata={
        "title": "Email Field", "x-field-of": "reads", "x-field-type": "email",
        "description": "With \"The address in an email Field\": the email Field (the Stage must read it)."})
    subject = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200), metadata={
        "title": "Subject", "description": PLACEHOLDER_HELP})
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20_000), metadata={
        "title": "Message", "x-rows": 8, "description": PLACEHOLDER_HELP})
    finish = ma.fields.String(load_default="first_reply", validate=ma.validate.OneOf(list(FINISH)), metadata={
        "title": "Finish when", "x-labels": FINISH,
        "description": "The Stage's SLA (due, reminders, escalation) applies as to any Stage."})
    attachments_field = ma.fields.String(load_default="", metadata={
        "title": "Keep attachments in", "x-field-of": "writes", "x-field-type": "file",
        "description": "A file Field this Stage writes: files attached to replies are checked like uploads "
                       "and kept there. Leave empty to keep no attachments."})
    attachment_kinds = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(list(KINDS))),
                                      load_default=lambda: ["pdf", "images", "office"],
                                      validate=ma.validate.Length(min=1), metadata={
        "title": "Attachments allowed", "default": ["pdf", "images", "office"],
        "x-labels": {k: v[0] for k, v in KINDS.items()},
        "description": "Checked from the file's content, not its name; other attachments are refused."})
    attachment_max_mb = ma.fields.Integer(load_default=DEFAULT_SIZE_MB, validate=ma.validate.Range(1, MAX_SIZE_MB),
                                          metadata={"title": "Largest attachment (MB)", "default": DEFAULT_SIZE_MB})


class EmailConversationType(StageType):
    key = "email_conversation"
    name = "Email conversation"
    icon = "✉"
    description = ("Automated: emails a participant or an address from a Field and waits for the reply "
                   "(or for staff to mark the conversation done). Staff reply from the Task page.")
    automated = True
    config_schema = EmailConfig
    needs = Needs(files=True)
    task_template = "stages/email_task.html"
    portal_template = "stages/email_portal.html"

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        reads = list(stage.get("reads") or ())
        problems: list[tuple[str, str]] = []
        if config.get("recipient") == "field":
            key = config.get("recipient_field") or ""
            if not key:
                problems.append(("config.recipient_field", "choose the email Field to send to"))
            elif key not in reads:
                problems.append(("config.recipient_field", f'"{key}" is not in reads'))
            elif key in fields and fields[key].type != "email":
                problems.append(("config.recipient_field", f'"{key}" is not an email Field'))
        for name in ("subject", "body"):
            try:
                bad = mail_templates.unknown(config.get(name) or "", reads)
            except mail_templates.TemplateProblem as exc:
                problems.append((f"config.{name}", str(exc)))
                continue
            if bad:
                problems.append((f"config.{name}", "unknown placeholder" + ("s" if len(bad) > 1 else "") + " "
                                 + ", ".join(bad) + " (only Fields this Stage reads: "
                                 + (", ".join(reads) or "none") + ")"))
        kept = config.get("attachments_field") or ""
        if kept:
            if kept not in (stage.get("writes") or []):
                problems.append(("config.attachments_field", f'"{kept}" is not in writes'))
            elif kept in fields and fields[kept].type != "file":
                problems.append(("config.attachments_field", f'"{kept}" is not a file Field'))
        return problems

    def perform(self, ctx: StageContext) -> Performed:
        config = ctx.config
        to = None
        if config["recipient"] == "field":
            to = str(ctx.values.get(config["recipient_field"]) or "").strip()
            if not to:
                raise ValueError(f'the email Field "{config["recipient_field"]}" is empty')
        subject = mail_templates.render_subject(config["subject"], ctx.values)
        text = mail_templates.render_text(config["body"], ctx.values)
        html = mail_templates.render_html(config["body"], ctx.values)
        sent_to = service().start(ctx, to=to, subject=subject, text=text, html=html)
        return Performed(complete=False, log=(f"email queued to {sent_to}",))

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        """A verified reply arrives as a `callback`; staff marking the conversation done as `submit`.
        The core hands over the run's kept attachments as `payload["files"]`: with a Field to keep them
        in, they become its value."""
        payload = dict(payload or {})
        files = payload.pop("files", None)
        kept = ctx.config.get("attachments_field") or ""
        values = {kept: [{k: f[k] for k in ("id", "name", "content_type", "size")} for f in files]} \
            if kept and files else {}
        if kind == InputKind.callback:
            return Submission(values=values, complete=ctx.config.get("finish", "first_reply") == "first_reply")
        if kind == InputKind.submit:
            return Submission(values={**payload, **values})
        raise InputRefused(f"a {self.name} Stage does not take {kind} input")


    def render_portal(self, **context) -> Markup:
        """The conversation in the portal: the emails of the run, and (while it waits) an answer box,
        for a participant who prefers the portal to their mailbox."""
        run = context["ps"].run
        emails = db.session.scalars(select(MailMessage).where(MailMessage.stage_run_id == run.id)
                                    .order_by(MailMessage.id)).all()
        return super().render_portal(**context, emails=emails)


def service() -> ConversationService:
    found = current_app.extensions.get(SERVICE)
    if found is None:
        raise RuntimeError("the email conversation service is not installed (app.conversations.init_app)")
    return found
