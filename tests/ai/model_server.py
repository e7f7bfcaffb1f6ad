"""A local server speaking the OpenAI chat-completions protocol over HTTP, started by the tests on a
loopback port: `POST /v1/chat/completions` answers from a script of replies (each a completion's
content, or a raw status / headers / body, optionally after a delay) and records every request it got,
headers included. Any other path is recorded too (an attacker's server is one of these with no
script: it proves nothing reached it)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Scripted:
    content: str | None = None          # a completion whose message has this content
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes | None = None           # a raw body instead of a completion
    delay: float = 0.0
    tool_calls: list | None = None
    usage: tuple[int, int] = (50, 10)
    echo_auth: bool = False             # put the Authorization header it got into the body (leak bait)


def answer(values: dict, **kw) -> Scripted:
    return Scripted(content=json.dumps(values), **kw)


class ModelServer:
    def __init__(self):
        self.script: list[Scripted] = []
        self.default: Scripted | None = None
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server._record(self, b"")
                self._send(404, {}, b"{}")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server._record(self, body)
                if self.path != "/v1/chat/completions":
                    self._send(404, {}, b'{"error": "not found"}')
                    return
                step = server._next()
                if step is None:
                    self._send(500, {}, b'{"error": "nothing scripted"}')
                    return
                if step.delay:
                    time.sleep(step.delay)
                payload = step.body
                if payload is None:
                    message = {"role": "assistant", "content": step.content}
                    if step.tool_calls:
                        message["tool_calls"] = step.tool_calls
                    payload = json.dumps({
                        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                        "model": json.loads(body or b"{}").get("model", "?"),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": step.usage[0], "completion_tokens": step.usage[1],
                                  "total_tokens": sum(step.usage)}}).encode()
                if step.echo_auth:
                    payload += (" auth was: " + (self.headers.get("Authorization") or "")).encode()
                try:
                    self._send(step.status, step.headers, payload)
                except (BrokenPipeError, ConnectionResetError):   # the client gave up (a timeout)
                    pass

            def _send(self, status, headers, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _record(self, handler, body: bytes) -> None:
        with self._lock:
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            self.requests.append({"method": handler.command, "path": handler.path, "headers": dict(handler.headers),
                                  "json": parsed, "at": time.monotonic()})

    def _next(self) -> Scripted | None:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def then(self, *steps: Scripted) -> ModelServer:
        self.script.extend(steps)
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
