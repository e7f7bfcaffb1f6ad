"""The IMAP alternative of `flask procly mail-in --imap`: polls a mailbox (IMAP_HOST, IMAP_PORT,
IMAP_USERNAME, IMAP_PASSWORD, IMAP_TLS = ssl | starttls | none, IMAP_MAILBOX) every
MAIL_IN_INTERVAL seconds and feeds each unseen message to the same pipeline as the SMTP receiver
(app.conversations.incoming). A message is fetched with BODY.PEEK and flagged \\Seen only once it
was handled (kept or dropped), so a database failure leaves it for the next poll."""
from __future__ import annotations

import imaplib
import logging
import re
import ssl
import threading

from app.conversations import incoming, parse
from app.extensions import db

log = logging.getLogger(__name__)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _connect(cfg) -> imaplib.IMAP4:
    mode = (cfg.get("IMAP_TLS") or "ssl").lower()
    context = ssl.create_default_context(cafile=cfg.get("IMAP_CA_FILE") or None)
    host, port = cfg["IMAP_HOST"], int(cfg.get("IMAP_PORT") or (993 if mode == "ssl" else 143))
    if mode == "ssl":
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=30)
    else:
        imap = imaplib.IMAP4(host, port, timeout=30)
        if mode == "starttls":
            imap.starttls(ssl_context=context)
    imap.login(cfg["IMAP_USERNAME"], cfg["IMAP_PASSWORD"])
    return imap


def poll_once(app) -> dict:
    """One pass over the unseen messages; returns counts {"seen", "kept", "dropped", "failed"}."""
    cfg = app.config
    counts = {"seen": 0, "kept": 0, "dropped": 0, "failed": 0}
    limit = int(cfg.get("MAIL_IN_MAX_BYTES", parse.MAX_BYTES))
    imap = _connect(cfg)
    try:
        imap.select(cfg.get("IMAP_MAILBOX") or "INBOX")
        _, data = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            counts["seen"] += 1
            _, sized = imap.uid("FETCH", uid, "(RFC822.SIZE)")
            m = _SIZE.search(b" ".join(x if isinstance(x, bytes) else b" ".join(x) for x in sized if x))
            if m and int(m.group(1)) > limit:
                log.warning("mail-in: dropped IMAP message %s: %s bytes over the limit", uid, m.group(1))
                counts["dropped"] += 1
                imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                continue
            _, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), b"")
            with app.app_context():
                try:
                    outcome = incoming.accept(raw)
                except Exception:  # noqa: BLE001 - left unseen: the next poll tries again
                    db.session.rollback()
                    log.exception("mail-in: could not store IMAP message %s", uid)
                    counts["failed"] += 1
                    continue
                finally:
                    db.session.remove()
            counts["kept" if outcome.accepted else "dropped"] += 1
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return counts


def poll(app, stop: threading.Event) -> None:
    """Poll every MAIL_IN_INTERVAL seconds until `stop` is set; a failed poll is logged and retried."""
    interval = float(app.config.get("MAIL_IN_INTERVAL", 30))
    while not stop.is_set():
        try:
            counts = poll_once(app)
            if counts["seen"]:
                log.info("mail-in: IMAP poll %s", counts)
        except (OSError, imaplib.IMAP4.error) as exc:
            log.warning("mail-in: IMAP poll failed: %s", exc)
        stop.wait(interval)
