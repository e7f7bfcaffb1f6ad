"""The IMAP alternative of mail-in against a small real IMAP4 server started by the test
(tests/conversations/imap_server.py, over TCP): the poller feeds the same pipeline as the SMTP
receiver — a genuine reply completes the run, a forged one is dropped — marks what it handled \\Seen,
and `flask procly mail-in --imap` does the same as its own process, polling at its interval."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from app.conversations import imap_in
from app.models import MailMessage
from tests.conversations.conftest import DOMAIN, email_stage, reply_to
from tests.conversations.imap_server import ImapServer, Mailbox
from tests.conversations.test_email_processes import _env
from tests.processes import ROOT, wait_until


def _imap_config(app, port):
    return {"IMAP_HOST": "127.0.0.1", "IMAP_PORT": port, "IMAP_TLS": "none", "IMAP_USERNAME": "replies",
            "IMAP_PASSWORD": "imap-pass", "IMAP_MAILBOX": "INBOX"}


def test_the_poller_feeds_the_one_pipeline(app, world, sink):
    world.process("ask", [email_stage()])
    tid = world.start("ask", {"name": "Ada", "email": "ada@example.com"})
    world.drain()
    [sent] = sink.messages()
    box = Mailbox("replies", "imap-pass")
    forged = str(sent["Reply-To"]).rsplit("-", 1)[0] + "-" + "c" * 26 + "@" + DOMAIN
    bad = box.add(reply_to(sent, "forged", to=forged))
    good = box.add(reply_to(sent, "Friday suits me."))
    old = {k: app.config[k] for k in _imap_config(app, 0)}
    with ImapServer(box) as server:
        app.config.update(_imap_config(app, server.port))
        try:
            assert imap_in.poll_once(app) == {"seen": 2, "kept": 1, "dropped": 1, "failed": 0}
            assert box.seen(bad) and box.seen(good)
            assert imap_in.poll_once(app)["seen"] == 0             # nothing new
        finally:
            app.config.update(old)
    world.db.session.remove()
    assert world.run(tid, "ask").status == "completed"
    [reply] = world.db.session.scalars(select(MailMessage).where(MailMessage.direction == "in")).all()
    assert reply.body_text == "Friday suits me."


def test_mail_in_imap_process_polls_at_its_interval(world, sink):
    world.process("ask", [email_stage()])
    tid = world.start("ask", {"name": "Ada", "email": "ada@example.com"})
    world.drain()
    [sent] = sink.messages()
    box = Mailbox("replies", "imap-pass")
    with ImapServer(box) as server:
        env = _env(world.app, MAIL_IN_INTERVAL="0.5", **{k: str(v) for k, v in _imap_config(world.app, server.port).items()})
        log_path = Path(env["PROCLY_INSTANCE"]) / f"mail-in-imap-{time.time_ns()}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            proc = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "procly", "mail-in",
                                     "--imap"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_until(lambda: box.logins >= 2, 30, "two polls", diagnose=log_path.read_text)
            box.add(reply_to(sent, "Arrived later, picked up by the next poll."))

            def completed():
                world.db.session.remove()
                return world.run(tid, "ask").status == "completed"
            wait_until(completed, 30, "the reply picked up", diagnose=log_path.read_text)
        finally:
            proc.terminate()
            assert proc.wait(30) == 0, log_path.read_text()[-2000:]
