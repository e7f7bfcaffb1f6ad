"""`flask procly mail-in`: the SMTP receiver, the IMAP poller, or both, until SIGTERM / Ctrl-C."""
from __future__ import annotations

import logging
import signal
import threading

from app.conversations import imap_in, smtp_in

log = logging.getLogger(__name__)


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = (text or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def run(app, *, smtp: str | None, imap: bool) -> None:
    if not smtp and not imap:
        raise ValueError("give --smtp HOST:PORT, --imap, or both")
    if imap and not app.config.get("IMAP_HOST"):
        raise ValueError("--imap needs IMAP_HOST (and IMAP_USERNAME, IMAP_PASSWORD)")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers = []
    if smtp:
        host, port = listen_address(smtp)
        workers.append(threading.Thread(target=smtp_in.serve, args=(app, host, port, stop), name="smtp-in"))
    if imap:
        workers.append(threading.Thread(target=imap_in.poll, args=(app, stop), name="imap-in", daemon=True))
    for worker in workers:
        worker.start()
    while not stop.is_set():
        stop.wait(1)
    log.info("mail-in: stopping")
    for worker in workers:
        worker.join(10)
