"""Stripping the quoted history from a reply: what the sender's mail program copied of the
conversation below (or around) what they wrote. Only the new text becomes the message."""
from __future__ import annotations

import re

_ATTRIBUTION = re.compile(r"^\s*(On\b.{0,300}\bwrote:|Le\b.{0,300}\ba écrit ?:|Am\b.{0,300}\bschrieb\b.{0,120}:"
                          r"|El\b.{0,300}\bescribió:)\s*$", re.I)
_SEPARATOR = re.compile(r"^\s*(-{2,}\s*(Original Message|Forwarded message|Ursprüngliche Nachricht)\s*-{2,}"
                        r"|_{20,})\s*$", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\**From:\**\s", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\**(Sent|Date|To|Subject):\**\s", re.I)
# where the quoted part of an HTML reply starts (Gmail, Apple Mail / Thunderbird, Outlook)
_HTML_QUOTE = re.compile(r'<div[^>]*class="[^"]*gmail_quote|<blockquote|<div[^>]*id="(divRplyFwdMsg|appendonsend)"'
                         r"|<hr[^>]*id=\"stopSpelling\"|-----\s*Original Message\s*-----", re.I)


def strip_text(text: str) -> str:
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _ATTRIBUTION.match(line) or _SEPARATOR.match(line):
            break
        if line.strip().startswith("On ") and following.strip().endswith("wrote:"):   # wrapped attribution
            break
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1:i + 4]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept).strip()


def strip_html(html: str) -> str:
    m = _HTML_QUOTE.search(html or "")
    return html[:m.start()] if m else (html or "")
