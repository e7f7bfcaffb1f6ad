"""Fixtures for Email conversation tests: a Table with an email Field, a Process whose first Stage
is an Email conversation, a real SMTP server (aiosmtpd) that receives what the outbox sends, and
helpers to write replies as a mail program would."""
from __future__ import annotations

import email
import threading
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.runtime_io.conftest import World
from tests.servers import free_port

DOMAIN = "mail.procly.test"
FIELDS = [
    {"key": "name", "name": "Name", "type": "text"},
    {"key": "email", "name": "Email", "type": "email"},
    {"key": "note", "name": "Note", "type": "text"},
    {"key": "secret", "name": "Secret", "type": "text"},
    {"key": "answered", "name": "Answered", "type": "boolean"},
    {"key": "docs", "name": "Documents", "type": "file"},
]
SUBJECT = "Your appointment, {{ name }}"
BODY = "Hello {{ name }},\n\nwhen would suit you? ({{ note }})\n\nThe team"


def email_stage(key="ask", *, finish="first_reply", reads=("name", "email", "note"), subject=SUBJECT, body=BODY,
                recipient="field", **extra) -> dict:
    config = {"recipient": recipient, "subject": subject, "body": body, "finish": finish}
    if recipient == "field":
        config["recipient_field"] = "email"
    return {"key": key, "name": "Ask the client", "type": "email_conversation", "reads": list(reads), "writes": [],
            "config": config, **extra}


class MailWorld(World):
    """World (tests/runtime_io) plus the Table "people" with an email Field."""

    def __init__(self, app, make_user, api_as):
        super().__init__(app, make_user, api_as)
        from app.tables.operations import create_table

        create_table({"key": "people", "name": "People",
                      "fields": [{"required": False, "options": {}, **f} for f in FIELDS]}, "system")
        self.db.session.commit()

    def process(self, key, stages, routes=(), *, team="Ops", start=None):
        from sqlalchemy import select

        from app.models import Process
        from app.processes import operations, versioning

        process = self.db.session.scalar(select(Process).where(Process.key == key))
        if process is None:
            process = operations.create_process({"key": key, "name": key.title(), "description": "",
                                                 "table": "people", "team": team}, self.admin)
        version = versioning.publish(process, self.admin, "test",
                                     definition={"stages": stages, "routes": list(routes)})
        self.db.session.commit()
        return version


@pytest.fixture
def world(app, make_user, api_as):
    old = app.config["PROCLY_MAIL_DOMAIN"]
    app.config["PROCLY_MAIL_DOMAIN"] = DOMAIN
    yield MailWorld(app, make_user, api_as)
    app.config["PROCLY_MAIL_DOMAIN"] = old


class Sink:
    """What a real SMTP server (aiosmtpd, in this process) received."""

    def __init__(self):
        self.envelopes, self.auth = [], []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(e.original_content or e.content, policy=policy.default)
                    for e in self.envelopes]


@pytest.fixture
def sink(app):
    received = Sink()
    port = free_port()
    ctl = Controller(received, hostname="127.0.0.1", port=port)
    ctl.start()
    old = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none", SMTP_USERNAME="")
    received.port = port
    yield received
    ctl.stop()
    app.config.update(old)


def reply_to(sent: EmailMessage, text: str, *, sender="client@example.com", html: str | None = None,
             to: str | None = None, attachments=(), headers=None) -> bytes:
    """A reply as a mail program writes it: to the Reply-To address, threaded, the original quoted."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or str(sent["Reply-To"])
    msg["Subject"] = "Re: " + str(sent["Subject"])
    msg["Message-ID"] = email.utils.make_msgid(domain="example.com")
    msg["In-Reply-To"] = str(sent["Message-ID"])
    msg["References"] = str(sent["Message-ID"])
    for k, v in (headers or {}).items():
        msg[k] = v
    quoted = "\n".join("> " + line for line in sent.get_body(("plain",)).get_content().splitlines())
    msg.set_content(f"{text}\n\nOn Mon, 30 Nov 2026 at 10:00, Procly <procly@localhost> wrote:\n{quoted}\n")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
