"""The SMTP receiver of `flask procly mail-in --smtp HOST:PORT` (aiosmtpd): the MX (or a forward)
for PROCLY_MAIL_DOMAIN. It takes mail for reply addresses only (`reply+…@domain`: anything else is
refused at RCPT with 550), refuses messages over MAIL_IN_MAX_BYTES (552), and hands each message to
the one pipeline (app.conversations.incoming). Dropped messages are still answered 250, so a forger
learns nothing; a database failure answers 451 and the sending server tries again later."""
from __future__ import annotations

import asyncio
import logging
import threading

from aiosmtpd.controller import Controller

from app.conversations import incoming, parse, tokens
from app.extensions import db

log = logging.getLogger(__name__)


class ReplyHandler:
    def __init__(self, app):
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.app.app_context():
            ours = tokens.token_in(address) is not None
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        ok = await asyncio.get_running_loop().run_in_executor(None, self._accept, raw, list(envelope.rcpt_tos))
        return "250 OK" if ok else "451 4.3.0 Temporary failure, try again later"

    def _accept(self, raw: bytes, rcpt_tos: list[str]) -> bool:
        with self.app.app_context():
            try:
                incoming.accept(raw, rcpt_tos)
                return True
            except Exception:  # noqa: BLE001 - the sender retries; nothing was kept
                db.session.rollback()
                log.exception("mail-in: could not store a message")
                return False
            finally:
                db.session.remove()


def controller(app, host: str, port: int) -> Controller:
    limit = int(app.config.get("MAIL_IN_MAX_BYTES", parse.MAX_BYTES))
    return Controller(ReplyHandler(app), hostname=host, port=port, data_size_limit=limit,
                      server_hostname=app.config.get("PROCLY_MAIL_DOMAIN") or "localhost")


def serve(app, host: str, port: int, stop: threading.Event) -> None:
    """Receive until `stop` is set (SIGTERM / Ctrl-C in the command)."""
    ctl = controller(app, host, port)
    ctl.start()
    log.info("mail-in: SMTP receiver on %s:%s for %s", host, port, app.config.get("PROCLY_MAIL_DOMAIN"))
    try:
        stop.wait()
    finally:
        ctl.stop()
