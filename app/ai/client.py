"""One request to an OpenAI-compatible chat-completions endpoint (`POST {base_url}/chat/completions`),
over the egress door (app.infra.egress): the connection's host only (the Stage's allow-list),
public addresses unless the administrator allowed a private network for that connection, checked
after DNS and pinned, no redirects followed. A plain HTTP call in the documented protocol: no SDK,
nothing else can be reached. The API key goes in the Authorization header and nowhere else."""
from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from app import clock
from app.infra import egress
from app.stages.ai import Connection

MAX_RESPONSE = 2 * 1024 * 1024


@dataclass
class Reply:
    """What one call gave: the status, the answer's text (or why there is none) and its usage."""
    outcome: str                       # ok | rate_limited | http_error | malformed | timeout | unreachable | blocked
    http_status: int | None = None
    content: str | None = None
    tool_calls: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_ms: float = 0.0
    retry_after: float | None = None   # seconds, from a 429's Retry-After
    error: str | None = None
    raw: str = ""                      # the body as text (cut), for the run's record
    extra: dict = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        return self.outcome in ("rate_limited", "timeout", "unreachable") or (
            self.outcome == "http_error" and (self.http_status or 0) >= 500)


def request_body(connection: Connection, messages: list[dict], schema: dict, *, temperature: float,
                 max_tokens: int) -> dict:
    if connection.response_format == "json_schema":
        response_format = {"type": "json_schema",
                           "json_schema": {"name": "procly_fields", "schema": schema, "strict": True}}
    else:
        response_format = {"type": "json_object"}
    # no `tools`, no `functions`: the model is offered nothing to call
    return {"model": connection.model, "messages": messages, "temperature": temperature,
            "max_tokens": max_tokens, "response_format": response_format}


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock.now().timestamp()) if when.tzinfo else None


def chat(connection: Connection, api_key: str, body: dict, *, timeout: float) -> Reply:
    """One call; never raises for what the server or the network does (that is the Reply's outcome)."""
    url = connection.base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
               "Accept": "application/json", "User-Agent": "Procly-AI-Prompt"}
    started = time.monotonic()
    try:
        resp = egress.request("POST", url, body=json.dumps(body).encode(), headers=headers, timeout=timeout,
                              allowed_hosts=[connection.host_port], allow_private=connection.allow_private,
                              max_bytes=MAX_RESPONSE)
    except egress.BlockedDestination as exc:
        return Reply("blocked", error=f"refused to call the model server: {exc}", duration_ms=_ms(started))
    except (TimeoutError, socket.timeout):
        return Reply("timeout", error=f"the model server did not answer within {timeout:g} s", duration_ms=_ms(started))
    except (OSError, http.client.HTTPException) as exc:
        return Reply("unreachable", error=f"cannot reach the model server: {type(exc).__name__}: {exc}",
                     duration_ms=_ms(started))
    return parse(resp, _ms(started))


def parse(resp: egress.Response, duration_ms: float) -> Reply:
    text = resp.body.decode("utf-8", "replace")
    reply = Reply("ok", http_status=resp.status, duration_ms=duration_ms, raw=text[:20_000])
    if resp.status == 429:
        reply.outcome, reply.retry_after = "rate_limited", retry_after(resp.headers.get("retry-after"))
        reply.error = "the model server is rate limiting (429)"
        return reply
    if 300 <= resp.status < 400:
        reply.outcome = "http_error"
        reply.error = f"the model server answered a redirect ({resp.status}); redirects are never followed"
        return reply
    if resp.status != 200:
        reply.outcome = "http_error"
        reply.error = f"the model server answered {resp.status}" + (
            ": check the connection's API key" if resp.status in (401, 403) else "")
        return reply
    try:
        data = json.loads(text)
        choice = data["choices"][0]["message"]
        usage = data.get("usage") or {}
        reply.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        reply.completion_tokens = int(usage.get("completion_tokens") or 0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        reply.outcome, reply.error = "malformed", "the model server's reply is not a chat completion (malformed JSON)"
        return reply
    reply.tool_calls = bool(choice.get("tool_calls") or choice.get("function_call"))
    content = choice.get("content")
    reply.content = content if isinstance(content, str) else None
    return reply


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
