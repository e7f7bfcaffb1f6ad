"""Templates of outside calls (Webhook, External Service): the URL, header values and body values hold
text with placeholders, nothing else — `{{ field }}` for one of the Stage's readable Fields,
`{{ secrets.NAME }}` for a secret the Stage declares, `{{ callback_url }}` for the run's callback URL,
`{{ response.a.b }}` for a value of the first response (a status URL to poll).

There is no expression, filter, tag or call: a placeholder is a dotted name looked up in plain data
(a regular expression substitution, no template engine), so nothing in a template or in a value can
run. Each value is made safe for where it goes: percent-encoded in the URL (a Field can never change
the host, the path's shape or add a query parameter), on one line in a header (no header injection),
typed JSON in a JSON body (a value is never spliced into JSON text)."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")
_ANY = re.compile(r"\{\{.*?\}\}|\{%|%\}|\{#|#\}", re.S)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
NAMESPACES = ("secrets", "response")     # dotted roots; `callback_url` is the one reserved plain name
CALLBACK = "callback_url"


class TemplateProblem(ValueError):
    """A template that is not text with `{{ name }}` placeholders."""


def placeholders(source: str) -> list[str]:
    """The dotted names a template uses, in order; raises TemplateProblem for anything else."""
    names: list[str] = []
    for m in _ANY.finditer(source or ""):
        found = PLACEHOLDER.fullmatch(m.group(0))
        if not found:
            raise TemplateProblem(f"{m.group(0)[:40]!r}: only {{{{ field }}}} placeholders are allowed "
                                  "(no expressions, filters or tags)")
        name = found.group(1)
        root = name.split(".", 1)[0]
        if "." in name and root not in NAMESPACES:
            raise TemplateProblem(f"{{{{ {name} }}}}: only secrets.NAME and response.… have dots")
        if root in NAMESPACES and "." not in name:
            raise TemplateProblem(f"{{{{ {name} }}}}: name one, e.g. {{{{ {root}.{'API_KEY' if root == 'secrets' else 'id'} }}}}")
        if name not in names:
            names.append(name)
    return names


def problems(source: str, *, reads, secrets, callback: bool = False, response: bool = False) -> list[str]:
    """What is wrong with a template's placeholders for a Stage that reads `reads` and declares
    `secrets` (empty: fine)."""
    try:
        names = placeholders(source)
    except TemplateProblem as exc:
        return [str(exc)]
    out = []
    for name in names:
        root, _, rest = name.partition(".")
        if root == "secrets":
            if rest not in set(secrets or ()):
                out.append(f'{{{{ {name} }}}}: the secret "{rest}" is not in this Stage\'s secrets')
        elif root == "response":
            if not response:
                out.append(f"{{{{ {name} }}}}: the first response is only known to the status URL")
        elif name == CALLBACK:
            if not callback:
                out.append("{{ callback_url }} is only known when the outside system calls back")
        elif name not in set(reads or ()):
            readable = ", ".join(sorted(reads or ())) or "none"
            out.append(f"unknown placeholder {name} (only Fields this Stage reads: {readable})")
    return out


def lookup(name: str, context: dict):
    """The value a dotted name names in `context` (None when absent)."""
    root, _, rest = name.partition(".")
    value = context.get(root)
    for part in rest.split(".") if rest else ():
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def text(value) -> str:
    """A value as text: nothing for null, true/false, whole numbers without ".0", JSON for lists
    and objects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _render(source: str, context: dict, encode) -> str:
    placeholders(source)
    return PLACEHOLDER.sub(lambda m: encode(lookup(m.group(1), context)), source or "")


def render_url(source: str, context: dict) -> str:
    """The URL with every value percent-encoded (also '/', '?', '&', '#', '@', ':')."""
    return _render(source, context, lambda v: quote(text(v), safe=""))


def render_header(source: str, context: dict) -> str:
    """A header value on one line: line breaks and control characters become spaces."""
    return _CONTROL.sub(" ", _render(source, context, text)).strip()[:8192]


def render_value(source: str, context: dict):
    """A body value: a template that is one placeholder gives the value itself (a number stays a
    number, a list a list); any other template gives text."""
    whole = PLACEHOLDER.fullmatch((source or "").strip())
    if whole:
        placeholders(source)
        value = lookup(whole.group(1), context)
        return int(value) if isinstance(value, float) and value.is_integer() else value
    return _render(source, context, text)


def literal_origin(source: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) when the URL template starts with a literal http(s)://host[:port] (no
    placeholder before the path); else None."""
    m = re.match(r"^(https?)://([^/?#{}\s]+)(?=$|[/?#])", (source or "").strip(), re.I)
    if not m:
        return None
    scheme, authority = m.group(1).lower(), m.group(2)
    if "@" in authority:
        return None
    host, _, port = authority.rpartition(":") if not authority.endswith("]") else (authority, "", "")
    if not host or (port and not port.isdigit()):
        host, port = authority, ""
    host = host.strip("[]").lower()
    return scheme, host, int(port) if port else (443 if scheme == "https" else 80)
