"""The Email conversation as it runs in production, every part its own process or server:
`flask procly worker` performs the Stage and sends through the outbox to a real SMTP server
(aiosmtpd); the client's reply goes with smtplib to `flask procly mail-in --smtp`, a separate
process, which attaches it to the run and completes it. Outgoing SMTP with STARTTLS / implicit TLS
and authentication, against an aiosmtpd server with a certificate made here."""
from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app import clock
from app.models import MailMessage, Outbox
from app.notifications import mail
from tests.conversations.conftest import DOMAIN, Sink, email_stage, reply_to
from tests.processes import ROOT, flask_worker, wait_until, worker_env
from tests.runtime_io.conftest import st
from tests.servers import free_port


def _env(app, **extra) -> dict:
    return worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], app.config["PROCLY_INSTANCE"],
                      PROCLY_MAIL_DOMAIN=DOMAIN, PROCLY_OUTBOX_INTERVAL="1", **extra)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class MailIn(subprocess.Popen):
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def mail_in(app, port: int) -> MailIn:
    flask = Path(sys.executable).with_name("flask")
    env = _env(app)
    log_path = Path(env["PROCLY_INSTANCE"]) / f"mail-in-{time.time_ns()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = MailIn([str(flask), "--app", "wsgi", "procly", "mail-in", "--smtp", f"127.0.0.1:{port}"], env=env,
                      cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    return proc


def test_send_reply_complete_with_a_real_worker_and_the_mail_in_process(world, sink):
    world.process("ask", [email_stage(), st("after")])
    tid = world.start("ask", {"name": "Ada", "email": "ada@example.com", "note": "mornings"})
    port = free_port()
    receiver = mail_in(world.app, port)
    worker = flask_worker(_env(world.app, SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port)))
    try:
        started = time.monotonic()
        wait_until(lambda: sink.envelopes, 60, "the first email at the SMTP server", diagnose=worker.log,
                   every=0.01)
        def sent_row():   # the SMTP server has it; the worker commits `sent_at` just after
            world.db.session.remove()
            row = world.db.session.scalar(select(Outbox))
            return row if row is not None and row.sent_at is not None else None
        row = wait_until(sent_row, 60, "the outbox row marked sent", diagnose=worker.log)
        print(f"\nworker process start -> first email at the SMTP server: {time.monotonic() - started:.2f} s; "
              f"outbox row written -> sent: {(row.sent_at - row.created_at).total_seconds() * 1000:.0f} ms")
        [sent] = sink.messages()
        assert sent["To"] == "ada@example.com" and str(sent["Subject"]) == "Your appointment, Ada"
        wait_until(lambda: _listening(port), 30, "mail-in listening", diagnose=receiver.log)
        world.db.session.remove()
        assert world.statuses(tid) == {"ask": "in_progress"}

        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            # an address that is not a reply address is refused at RCPT
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("client@example.com", [f"postmaster@{DOMAIN}"], b"Subject: hi\r\n\r\nhi\r\n")
            replied_at = time.monotonic()
            refused = smtp.sendmail("client@example.com", [str(sent["Reply-To"])],
                                    reply_to(sent, "Thursday 9:30 is perfect."))
        assert refused == {}

        def done():
            world.db.session.remove()
            return world.statuses(tid) == {"ask": "completed", "after": "pending"}
        wait_until(done, 60, "the run completed by the reply",
                   diagnose=lambda: receiver.log()[-3000:] + worker.log()[-2000:], every=0.01)
        print(f"\nreply sent -> run completed: {(time.monotonic() - replied_at) * 1000:.0f} ms "
              f"(SMTP to mail-in, parse, verify, attach, complete, commit)")
        thread = world.api.get(f"/api/v1/conversations/{world.run(tid, 'ask').id}").get_json()
        assert [(m["direction"], m["text"]) for m in thread["messages"]][1] == ("in", "Thursday 9:30 is perfect.")
        assert {e.type for e in world.events(tid)} >= {"email.sent", "email.received", "stage.input"}
    finally:
        receiver.terminate()
        assert receiver.wait(30) == 0, receiver.log()[-2000:]
        worker.stop()


def test_mail_in_drops_a_forged_reply_and_logs_it(world, sink):
    world.process("ask", [email_stage()])
    tid = world.start("ask", {"name": "Ada", "email": "ada@example.com"})
    world.drain()
    [sent] = sink.messages()
    port = free_port()
    receiver = mail_in(world.app, port)
    try:
        wait_until(lambda: _listening(port), 30, "mail-in listening", diagnose=receiver.log)
        forged = str(sent["Reply-To"]).split("-")
        forged[-1] = "b" * 26 + "@" + DOMAIN
        forged = "-".join(forged)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            assert smtp.sendmail("mallory@example.com", [forged], reply_to(sent, "attach me", to=forged)) == {}
        wait_until(lambda: "forged reply token" in receiver.log(), 30, "the drop logged", diagnose=receiver.log)
        world.db.session.remove()
        assert world.db.session.scalar(select(MailMessage).where(MailMessage.direction == "in")) is None
        assert world.run(tid, "ask").status == "in_progress"
    finally:
        receiver.terminate()
        receiver.wait(30)


# --- outgoing SMTP: TLS and authentication -----------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (cryptography), trusted through SMTP_CA_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"procly" and auth_data.password == b"s3cret-pass"
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")   # implicit TLS: it is TLS
@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_outbox_sends_over_tls_with_authentication(app, world, certificate, mode):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received, port = Sink(), free_port()
    # implicit TLS: the whole connection is TLS, but aiosmtpd only counts STARTTLS for auth_require_tls
    options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True} \
        if mode == "starttls" else {"ssl_context": context, "auth_require_tls": False}
    ctl = Controller(received, hostname="127.0.0.1", port=port, authenticator=_authenticator, auth_required=True,
                     **options)
    ctl.start()
    old = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME", "SMTP_PASSWORD",
                                      "SMTP_CA_FILE")}
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS=mode, SMTP_USERNAME="procly",
                          SMTP_PASSWORD="wrong", SMTP_CA_FILE=str(cert))
        world.process("ask", [email_stage()])
        tid = world.start("ask", {"name": "Ada", "email": "ada@example.com"})
        world.drain()
        row = world.db.session.scalar(select(Outbox))
        assert row.status == "pending" and "Authentication" in (row.last_error or "") and received.envelopes == []
        app.config.update(SMTP_PASSWORD="s3cret-pass")
        row.next_attempt_at = clock.now()
        world.db.session.commit()
        assert mail.deliver_due() == {"sent": 1, "failed": 0}
        [message] = received.messages()
        assert message["To"] == "ada@example.com" and str(message["Reply-To"]).startswith("reply+")
        assert world.run(tid, "ask").status == "in_progress"
        # an untrusted certificate is never sent to
        app.config.update(SMTP_CA_FILE="")
        world.db.session.add(Outbox(to="x@example.com", subject="s", body="b", kind="mail", status="pending",
                                    attempts=0, next_attempt_at=clock.now(), created_at=clock.now()))
        world.db.session.commit()
        assert mail.deliver_due() == {"sent": 0, "failed": 1}
        assert "CERTIFICATE_VERIFY_FAILED" in world.db.session.scalar(
            select(Outbox.last_error).where(Outbox.to == "x@example.com"))
    finally:
        ctl.stop()
        app.config.update(old)
