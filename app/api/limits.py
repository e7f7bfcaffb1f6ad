"""Input limits of the API, checked before any parsing or database work.

- Integers: every id, number and position is stored in (or compared with) a 32-bit INTEGER
  column, so path ids above INT_MAX match no route (404) and schema integers are bounded (422).
- Request bodies: JSON nested deeper than API_MAX_JSON_DEPTH (default 64) is refused with 400
  before any parser recurses into it, as are the non-JSON constants NaN and Infinity that
  Python's parser would otherwise accept, and NUL characters anywhere (PostgreSQL stores neither
  in text nor in JSON)."""
from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter

from app.errors import APIError
from app.fields import INT_MAX

DEFAULT_MAX_JSON_DEPTH = 64
# views that stream their raw body themselves (uploads): never read here, bounded by the view
RAW_BODY_ENDPOINTS = frozenset({"run_files.RunFilesView", "portal.upload"})
RAW_BODY_MAX = 1024 * 1024 * 1024 + 1   # the largest per-file limit a File upload Stage may set, + 1


class IdConverter(IntegerConverter):
    """`<int:…>` everywhere: 0 … INT_MAX; any larger number names no row, so no rule matches (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
_INNERMOST = re.compile(rb"\(\)")
_CONSTANT = re.compile(rb"(?<![A-Za-z0-9_])-?(?:NaN|Infinity)(?![A-Za-z0-9_])")
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")   # \u0000 not preceded by an escaped backslash


def json_depth_exceeds(body: bytes, cap: int) -> bool:
    """True if the JSON text `body` nests arrays/objects deeper than `cap`. Linear-time regex and
    translate passes (no recursion, no parsing): strings are dropped, brackets kept, then innermost
    pairs are removed once per level; anything left after `cap` rounds is deeper than `cap`."""
    if body.count(b"[") + body.count(b"{") <= cap:
        return False
    brackets = _STRING.sub(b"", body).translate(_AS_PARENS, _NOT_BRACKETS)
    for _ in range(cap):
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not brackets or not removed:
            return False  # balanced and shallow enough, or not JSON at all (the parser will say so)
    return bool(brackets)


def has_non_json_constant(body: bytes) -> bool:
    return (b"NaN" in body or b"Infinity" in body) and bool(_CONSTANT.search(_STRING.sub(b"", body)))


def check_request() -> None:
    """400 for an API request whose body is nested too deep or uses NaN/Infinity, or that carries a
    NUL character in its body or query (404 in its path)."""
    if request.endpoint in RAW_BODY_ENDPOINTS:
        # the upload views count the body themselves against the Stage's limit; raise the request's
        # own limit before any hook (CSRF's form lookup) opens the stream under MAX_CONTENT_LENGTH
        request.max_content_length = RAW_BODY_MAX
    if not request.path.startswith("/api/"):
        return
    if "\x00" in request.path:
        raise APIError("No such resource.", status=404, code="not_found")
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise APIError("The query string contains a NUL character.", {"query": ["NUL characters are not allowed"]})
    if not request.content_length or request.endpoint in RAW_BODY_ENDPOINTS:
        return
    body = request.get_data(cache=True)
    cap = current_app.config.get("API_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)
    if json_depth_exceeds(body, cap):
        raise APIError(f"The request body is nested deeper than {cap} levels.",
                       {"body": [f"JSON nested deeper than {cap} levels"]}, code="too_deep")
    if has_non_json_constant(body):
        raise APIError("The request body is not valid JSON (NaN and Infinity are not JSON).",
                       {"body": ["NaN and Infinity are not JSON values"]})
    if b"\\u0000" in body and _NUL_ESCAPE.search(body):
        raise APIError("The request body contains a NUL character (\\u0000).",
                       {"body": ["NUL characters are not allowed"]})


def init_app(app: Flask) -> None:
    """Call before any route is registered: the `int` converter is looked up as rules are added."""
    app.url_map.converters["int"] = IdConverter
    # a URL value preprocessor runs before every before_request hook, including the one that
    # dispatches signed inbound webhooks ahead of the CSRF check (app.inbound.webhooks)
    app.url_value_preprocessors.setdefault(None, []).append(lambda endpoint, values: check_request())
