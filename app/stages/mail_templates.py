"""Email templates of the Email conversation stage type: `{{ field }}` placeholders for the Stage's
readable Fields only, rendered by Jinja's sandboxed environment.

A template may hold text and placeholders, nothing else (no tags, filters, attribute lookups or
expressions): there is nothing to loop on, call or reach through. Values are made safe for where
they go: the HTML part escapes them (autoescape), the subject gets them on one line (CR, LF and
every other control character become spaces: no header injection), the text part keeps newlines and
tabs only."""
from __future__ import annotations

import re

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

_TEXT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\r\n\x00-\x1f\x7f\u2028\u2029\x85]+")


class TemplateProblem(ValueError):
    """A template that is not text with `{{ field }}` placeholders."""


def placeholders(source: str) -> list[str]:
    """The Field keys a template names, in order; raises TemplateProblem for anything else."""
    try:
        tree = _TEXT.parse(source or "")
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    names: list[str] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise TemplateProblem("only {{ field }} placeholders are allowed (no {% %} tags)")
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                continue
            if not isinstance(part, nodes.Name):
                raise TemplateProblem("only {{ field }} placeholders are allowed (no filters or expressions)")
            if part.name not in names:
                names.append(part.name)
    return names


def unknown(source: str, readable) -> list[str]:
    """Placeholders of `source` that are not among `readable` (raises TemplateProblem)."""
    allowed = set(readable or ())
    return [name for name in placeholders(source) if name not in allowed]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def one_line(text: str, limit: int = 255) -> str:
    """A header value: every line break and control character becomes a space."""
    return _LINE_BREAKS.sub(" ", text or "").strip()[:limit]


def render_subject(source: str, values: dict) -> str:
    placeholders(source)
    safe = {k: one_line(_text(v), 1000) for k, v in values.items()}
    return one_line(_TEXT.from_string(source).render(safe))


def render_text(source: str, values: dict) -> str:
    placeholders(source)
    safe = {k: _CONTROL.sub(" ", _text(v).replace("\r\n", "\n").replace("\r", "\n")) for k, v in values.items()}
    return _TEXT.from_string(source).render(safe)


def render_html(source: str, values: dict) -> str:
    """The HTML alternative: the template's text escaped, values escaped, line breaks as <br>."""
    placeholders(source)
    safe = {k: Markup("<br>").join(escape(line) for line in
                                      _CONTROL.sub(" ", _text(v).replace("\r\n", "\n").replace("\r", "\n")).split("\n"))
            for k, v in values.items()}
    escaped_source = _escape_template_text(source)
    body = _HTML.from_string(escaped_source).render(safe)
    return "<div>" + body.replace("\n", "<br>\n") + "</div>"


def text_to_html(text: str) -> str:
    """Plain text (a staff reply) as the HTML alternative: escaped, line breaks as <br>."""
    return "<div>" + "<br>\n".join(str(escape(line)) for line in (text or "").split("\n")) + "</div>"


def _escape_template_text(source: str) -> str:
    """Escape the literal text of a template (the analyst's own words) for HTML, leaving placeholders."""
    out, pos = [], 0
    for m in re.finditer(r"\{\{.*?\}\}", source, flags=re.S):
        out.append(str(escape(source[pos:m.start()])))
        out.append(m.group(0))
        pos = m.end()
    out.append(str(escape(source[pos:])))
    return "".join(out)
