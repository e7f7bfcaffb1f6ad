"""A real HTTP server standing for another system in the Webhook / External Service tests: it records
every request (method, path, headers, body) and answers from a plan (status, JSON body, headers, a
delay before answering), then 200 {"ok": true}. Threaded, on 127.0.0.1, started and stopped by a test."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: object = field(default_factory=lambda: {"ok": True})
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


class Partner:
    def __init__(self):
        self.received: list[Seen] = []
        self.plan: list[Answer] = []           # answers to any path, in order
        self.paths: dict[str, list[Answer]] = {}   # answers to one path (e.g. a status address), in order
        self.lock = threading.Lock()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with partner.lock:
                    partner.received.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                    queue = partner.paths.get(self.path.split("?")[0])
                    answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else \
                        (partner.plan.pop(0) if partner.plan else Answer())
                if answer.delay:
                    time.sleep(answer.delay)
                data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass   # the caller gave up (a timeout)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
