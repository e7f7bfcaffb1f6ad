"""A small real IMAP4rev1 server for the tests (TCP on loopback, plain text): one user, one
mailbox, and the commands a mail client polling for new mail uses — CAPABILITY, LOGIN, SELECT,
UID SEARCH UNSEEN, UID FETCH (RFC822.SIZE / BODY.PEEK[] / BODY[]), UID STORE +FLAGS, NOOP, LOGOUT.
Enough to drive Python's imaplib (and so the poller) over the wire, nothing more."""
from __future__ import annotations

import re
import socketserver
import threading

_LITERAL_FREE = re.compile(r'^(\S+) (?:UID )?(\S+)(?: (.*))?$', re.I)


class Mailbox:
    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.messages: dict[int, dict] = {}
        self.lock = threading.Lock()
        self.logins = 0

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = max(self.messages, default=0) + 1
            self.messages[uid] = {"raw": raw, "flags": set()}
            return uid

    def seen(self, uid: int) -> bool:
        return "\\Seen" in self.messages[uid]["flags"]


class _Handler(socketserver.StreamRequestHandler):
    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self):
        box: Mailbox = self.server.mailbox
        authed = False
        self.send("* OK test IMAP4rev1 server ready")
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            m = _LITERAL_FREE.match(line)
            if not m:
                self.send("* BAD malformed")
                continue
            tag, command, args = m.group(1), m.group(2).upper(), m.group(3) or ""
            is_uid = " UID " in f" {line.upper()} "
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGIN":
                user, password = [p.strip('"') for p in args.split(" ", 1)]
                authed = user == box.user and password == box.password
                box.logins += authed
                self.send(f"{tag} OK LOGIN completed" if authed else f"{tag} NO LOGIN failed")
            elif not authed and command != "LOGOUT":
                self.send(f"{tag} NO not authenticated")
            elif command in ("SELECT", "EXAMINE"):
                self.send(f"* {len(box.messages)} EXISTS")
                self.send("* FLAGS (\\Seen \\Deleted)")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
            elif command == "SEARCH" and is_uid:
                with box.lock:
                    found = [str(u) for u, msg in box.messages.items() if "\\Seen" not in msg["flags"]]
                self.send("* SEARCH" + "".join(" " + u for u in found))
                self.send(f"{tag} OK SEARCH completed")
            elif command == "FETCH" and is_uid:
                uid_text, what = args.split(" ", 1)
                uid = int(uid_text)
                msg = box.messages.get(uid)
                if msg is not None:
                    if "RFC822.SIZE" in what.upper():
                        self.send(f"* {uid} FETCH (UID {uid} RFC822.SIZE {len(msg['raw'])})")
                    else:
                        self.send(f"* {uid} FETCH (UID {uid} BODY[] {{{len(msg['raw'])}}}".encode() + b"\r\n"
                                  + msg["raw"] + b")")
                        if "PEEK" not in what.upper():
                            msg["flags"].add("\\Seen")
                self.send(f"{tag} OK FETCH completed")
            elif command == "STORE" and is_uid:
                uid_text, _, flags = args.split(" ", 2)
                msg = box.messages.get(int(uid_text))
                if msg is not None:
                    msg["flags"].update(re.findall(r"\\\w+", flags))
                    self.send(f"* {uid_text} FETCH (UID {uid_text} FLAGS ({' '.join(sorted(msg['flags']))}))")
                self.send(f"{tag} OK STORE completed")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            else:
                self.send(f"{tag} BAD unsupported command {command}")


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Mailbox, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
        self.mailbox = mailbox
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
