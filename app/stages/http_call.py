"""Outside calls of the Webhook and External Service stage types: the request's config (shared by
both), rendering it over the Stage's readable Fields and declared secrets (app.stages.http_templates),
sending it through the one egress door (app.infra.egress) limited to the Stage's allow-list, retries
with backoff on timeouts, connection errors, 5xx and 429 under one Idempotency-Key, the call log kept
on the Stage Run (method, URL, status, duration, the start of the response; secrets masked), and
reading Fields out of a response (CEL over `body`, `status`, `headers`)."""
from __future__ import annotations

import hashlib
import http.client
import json
import re
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, has_app_context

from app.cel import expressions
from app.fields import SECRET_NAME
from app.infra import egress
from app.infra.redaction import contains_secret, redact
from app.stages import http_templates as tpl
from app.stages.base import ConfigSchema, StageContext, StageFailed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_FORMATS = ("json", "form", "none")
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "idempotency-key",
                    "procly-callback-url", "expect", "upgrade"}
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
LOG_BODY = 500             # characters of a response body kept on the run's log
TOTAL_SECONDS = 150        # one attempt's tries and waits stop before RQ's job timeout (180 s)
MAX_RETRY_AFTER = 30
RESPONSE_VARS = {"body": expressions.FieldInfo("body", "json"), "status": expressions.FieldInfo("status", "number"),
                 "headers": expressions.FieldInfo("headers", "json")}
DEFAULT_TIMEOUT_MAX = 30


def meta(title: str, description: str, **extra) -> dict:
    return {"title": title, "description": description, **extra}


def _allow_entry(entry: str) -> None:
    problem = egress.allow_list_problem(entry)
    if problem:
        raise ma.ValidationError(problem)


def _header_name(name: str) -> None:
    if not HEADER_NAME.match(name or ""):
        raise ma.ValidationError("a header name is letters, digits and -")
    if name.lower() in RESERVED_HEADERS:
        raise ma.ValidationError(f"{name} is set by Procly")


class RequestConfig(ConfigSchema):
    """The request both types send."""
    method = ma.fields.String(load_default="POST", validate=ma.validate.OneOf(METHODS), metadata=meta(
        "Method", "What the call does: GET reads, POST creates, PUT/PATCH change, DELETE removes.",
        **{"x-labels": ["GET (read)", "POST (send / create)", "PUT (replace)", "PATCH (change)", "DELETE (remove)"]}))
    url = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000), metadata=meta(
        "Address (URL)", "https://host/path — {{ field }} inserts a Field this Stage reads (encoded: it cannot "
        "change the host); {{ secrets.NAME }} a secret.", **{"x-rows": 1}))
    allowed_hosts = ma.fields.List(ma.fields.String(validate=_allow_entry), load_default=list,
                                   validate=ma.validate.Length(max=20), metadata=meta(
        "Allowed hosts", "The only hosts this Stage may call, one per line: api.example.com (port 443/80), "
        "api.example.com:8443, or *.example.com. Anything else fails the Stage."))
    headers = ma.fields.Dict(keys=ma.fields.String(validate=_header_name),
                             values=ma.fields.String(validate=ma.validate.Length(max=2000)), load_default=dict,
                             metadata=meta("Headers", "Name and value; the value may use {{ field }} and "
                                                      "{{ secrets.NAME }}, e.g. Authorization: Bearer {{ secrets.API_KEY }}."))
    body_format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(BODY_FORMATS), metadata=meta(
        "Body format", "How the body below is sent.",
        **{"x-labels": ["JSON", "Form (URL-encoded)", "No body"]}))
    body = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(min=1, max=200)),
                          values=ma.fields.String(validate=ma.validate.Length(max=10000)), load_default=dict,
                          metadata=meta("Body", "Name and value of each item sent; a value that is only {{ field }} "
                                                "sends the Field as it is (a number stays a number)."))
    secrets = ma.fields.List(ma.fields.String(validate=SECRET_NAME), load_default=list,
                             validate=ma.validate.Length(max=20), metadata=meta(
        "Secrets used", "Names of the Team's secrets the call may use as {{ secrets.NAME }}, one per line."))
    timeout_seconds = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=300), metadata=meta(
        "Time limit per call (seconds)", "A call with no answer by then counts as failed (and is tried again)."))
    retries = ma.fields.Integer(load_default=2, validate=ma.validate.Range(min=0, max=5), metadata=meta(
        "Tries again on a timeout or server error", "After a timeout, a lost connection, a 5xx or a 429, after "
        "1 s, 2 s, 4 s…, with the same Idempotency-Key."))


def timeout_max() -> int:
    return int(current_app.config.get("HTTP_TIMEOUT_MAX", DEFAULT_TIMEOUT_MAX)) if has_app_context() \
        else DEFAULT_TIMEOUT_MAX


def request_errors(config: dict) -> dict:
    """Problems of a loaded request config's form, by key: a URL starting with a literal
    http(s)://host, templates with placeholders only. (What depends on the install or the Stage —
    the addresses, the allow-list, the reads — is `check`'s: it holds at saving, and the egress door
    holds it again at every call.)"""
    errors: dict = {}
    if tpl.literal_origin(config["url"]) is None:
        errors["url"] = ["start with http:// or https:// and the host name (no {{ }} in the host)"]
    for key, source in [("url", config["url"]), *((f"headers.{k}", v) for k, v in config["headers"].items()),
                        *((f"body.{k}", v) for k, v in config["body"].items())]:
        try:
            tpl.placeholders(source)
        except tpl.TemplateProblem as exc:
            errors.setdefault(key, []).append(str(exc))
    return errors


def request_problems(stage: dict, config: dict, *, callback: bool = False) -> list[tuple[str, str]]:
    """`check`: the URL's host is allowed here and on the Stage's allow-list, the time limit within the
    administrator's maximum, the placeholders name Fields the Stage reads and secrets it declares."""
    out: list[tuple[str, str]] = []
    origin = tpl.literal_origin(config.get("url") or "")
    allowed = config.get("allowed_hosts") or []
    if origin is not None:
        scheme, host, port = origin
        problem = egress.literal_problem(host)
        if problem:
            out.append(("config.url", problem))
        elif not allowed:
            out.append(("config.allowed_hosts", "name the hosts this Stage may call (at least the URL's)"))
        elif not egress.host_allowed(host, port, allowed, scheme):
            out.append(("config.url", f"{host}:{port} is not in Allowed hosts"))
    if (config.get("timeout_seconds") or 0) > timeout_max():
        out.append(("config.timeout_seconds", f"at most {timeout_max()}"))
    reads, secrets = stage.get("reads") or [], config.get("secrets") or []
    sources = [("url", config.get("url") or "")] + [(f"headers.{k}", v) for k, v in (config.get("headers") or {}).items()] \
        + [(f"body.{k}", v) for k, v in (config.get("body") or {}).items()]
    for key, source in sources:
        out += [(f"config.{key}", m) for m in tpl.problems(source, reads=reads, secrets=secrets, callback=callback)]
    return out


def results_problems(stage: dict, results: dict, key: str = "results") -> list[tuple[str, str]]:
    """`check`: each target is in writes, each expression type-checks over the response."""
    out = []
    for field, expr in (results or {}).items():
        if field not in (stage.get("writes") or []):
            out.append((f"config.{key}.{field}", f'"{field}" is not in writes'))
        out += [(f"config.{key}.{field}", m) for m in expressions.check(expr, RESPONSE_VARS, want="any")]
    return out


# --- run time ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict
    body: object          # the parsed JSON, else the text
    raw: bytes


class CallFailed(StageFailed):
    """The call failed; `transient` (a timeout, a lost connection, 5xx, 429) may succeed later."""

    def __init__(self, message: str, log=(), *, transient: bool = False):
        super().__init__(message, log)
        self.transient = transient


def _render(config: dict, context: dict, *, url: str | None, method: str, with_body: bool):
    headers = {k: tpl.render_header(v, context) for k, v in config["headers"].items()}
    body = None
    if with_body and method != "GET" and config["body_format"] != "none":
        items = {k: tpl.render_value(v, context) for k, v in config["body"].items()}
        if config["body_format"] == "json":
            body = json.dumps(items, ensure_ascii=False, default=str).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urlencode({k: tpl.text(v) for k, v in items.items()}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return tpl.render_url(url or config["url"], context), headers, body


def idempotency_key(run_id, method: str, url: str, headers: dict, body: bytes | None) -> str:
    """One key per Stage Run and request: every try of the same request (within an attempt and across
    the Stage's retries) carries it; a request that changed (new Field values) gets a new one."""
    digest = hashlib.sha256(json.dumps([method, url, sorted(headers.items()), (body or b"").decode("utf-8", "replace")])
                            .encode()).hexdigest()[:20]
    return f"procly-{run_id}-{digest}"


def used_names(config: dict, url: str | None = None) -> list[str]:
    """The declared secrets the request's templates use (only those are decrypted, each an Event)."""
    sources = [url or config["url"], *config["headers"].values(), *config["body"].values()]
    used = {n.split(".", 1)[1] for s in sources for n in tpl.placeholders(s) if n.startswith("secrets.")}
    return [n for n in config["secrets"] if n in used]


def _parse(raw: bytes, headers: dict):
    text_ = raw.decode("utf-8", "replace")
    if "json" in headers.get("content-type", "") or text_.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text_)
        except ValueError:
            pass
    return text_


def _snippet(raw: bytes) -> str:
    text_ = " ".join(raw.decode("utf-8", "replace").split())
    return text_[:LOG_BODY] + ("…" if len(text_) > LOG_BODY else "")


def _retry_after(headers: dict) -> float | None:
    try:
        return min(float(headers.get("retry-after", "")), MAX_RETRY_AFTER)
    except ValueError:
        return None


def call(ctx: StageContext, config: dict, allowed: list[str], *, extra: dict | None = None, url: str | None = None,
         method: str | None = None, with_body: bool = True, retries: int | None = None,
         label: str = "call") -> tuple[Reply, list[str], list[str]]:
    """Send the request; (reply, log lines, secret values used). Raises CallFailed with the log:
    refused destinations, redirects and 4xx at once; timeouts, lost connections, 5xx and 429 after
    `retries` more tries with backoff (1 s, 2 s, 4 s… or the server's Retry-After, up to 30 s)."""
    method = method or config["method"]
    secrets = ctx.secrets(used_names(config, url))
    used = [v for v in secrets.values() if v]
    context = {**ctx.values, "secrets": secrets, **(extra or {})}
    target, headers, body = _render(config, context, url=url, method=method, with_body=with_body)
    headers["Idempotency-Key"] = idempotency_key(ctx.run_id, method, target, headers, body)
    headers.setdefault("User-Agent", "Procly/1")
    headers.setdefault("Accept", "application/json")
    if extra and extra.get(tpl.CALLBACK):
        headers["Procly-Callback-Url"] = extra[tpl.CALLBACK]
    retries = config["retries"] if retries is None else retries
    log: list[str] = []
    deadline = time.monotonic() + TOTAL_SECONDS
    shown = redact(target, used)
    for attempt in range(retries + 1):
        started = time.monotonic()
        error, transient, reply = None, False, None
        try:
            response = egress.request(method, target, body=body, headers=headers, timeout=config["timeout_seconds"],
                                      allowed_hosts=allowed)
        except egress.BlockedDestination as exc:
            error = f"refused: {exc}"
        except ssl.SSLCertVerificationError as exc:
            error = f"refused: the server's certificate is not valid ({exc.verify_message})"
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            error = f"timed out after {config['timeout_seconds']} s" if timed_out else \
                f"no answer: {type(exc).__name__}: {exc}"
            transient = True
        else:
            ms = (time.monotonic() - started) * 1000
            log.append(redact(f"{label}: {method} {shown} → {response.status} in {ms:.0f} ms"
                              f"{': ' + _snippet(response.body) if response.body else ''}", used))
            reply = Reply(response.status, response.headers, _parse(response.body, response.headers), response.body)
            if 200 <= response.status < 300:
                if response.truncated:
                    raise CallFailed(f"{label}: the response is larger than {egress.MAX_RESPONSE // 1024} KB", log)
                return reply, log, used
            if 300 <= response.status < 400:
                where = redact(response.headers.get("location", "?"), used)[:300]
                raise CallFailed(f"{label}: {method} {shown} answered {response.status} (a redirect to {where}); "
                                 "redirects are not followed", log)
            transient = response.status >= 500 or response.status in (408, 425, 429)
            error = f"answered {response.status}"
        if reply is None:
            log.append(redact(f"{label}: {method} {shown} → {error} "
                              f"({(time.monotonic() - started) * 1000:.0f} ms)", used))
        wait = (reply and _retry_after(reply.headers)) or 2.0 ** attempt
        if not transient or attempt == retries or time.monotonic() + wait + config["timeout_seconds"] > deadline:
            tries = f" after {attempt + 1} tries" if attempt else ""
            raise CallFailed(redact(f"{label}: {method} {shown} {error}{tries}", used), log, transient=transient)
        time.sleep(wait)
    raise AssertionError("unreachable")


def read_results(results: dict, reply: Reply, ctx: StageContext, used: list[str], log, label: str = "call") -> dict:
    """The Fields to write from a reply: each expression (CEL) over `body`, `status` and `headers`.
    A value that holds a secret is refused."""
    data = {"body": reply.body, "status": reply.status, "headers": reply.headers}
    writes = {}
    for field, expr in results.items():
        try:
            writes[field] = expressions.evaluate_value(expr, data, budget_ms=ctx.budget_ms)
        except expressions.ExpressionError as exc:
            raise CallFailed(redact(f'{label}: could not read "{field}" from the response ({expr}): {exc}', used),
                             log) from None
    leaking = sorted(k for k, v in writes.items() if contains_secret(v, used))
    if leaking:
        raise CallFailed(f"{label}: refused to write a secret's value into {', '.join(leaking)}", log)
    return writes
