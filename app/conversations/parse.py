"""The one parser of incoming email (standard `email` package), shared by the SMTP receiver and the
IMAP poller: sender, recipients, threading ids, the new text (quoted history stripped), HTML
sanitised with nh3 (plus a plain-text version), attachments (name, type, size), within size limits."""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import nh3

from app.conversations import quotes

MAX_BYTES = 10 * 1024 * 1024       # a whole message (MAIL_IN_MAX_BYTES)
MAX_TEXT = 50_000                  # characters kept of the text
MAX_HTML = 200_000                 # characters of HTML looked at
MAX_ATTACHMENTS = 20
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]+")
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


class Unreadable(ValueError):
    """A message this parser refuses (too large, not an email)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    type: str
    size: int
    content: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class ParsedMail:
    sender: str
    recipients: list[str]
    subject: str
    message_id: str
    in_reply_to: str
    text: str
    html: str
    attachments: list[Attachment]
    automatic: bool                 # an auto-reply (out of office) or a bounce


def _addresses(msg: EmailMessage, names) -> list[str]:
    found = []
    for name in names:
        values = [str(v) for v in msg.get_all(name, [])]
        found.extend(addr for _, addr in getaddresses(values) if addr)
    return found


def _id(value) -> str:
    return str(value or "").strip().strip("<>").strip()[:255]


def _part_text(part) -> str:
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):   # an unknown charset: decode what can be decoded
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def sanitise_html(html: str) -> str:
    """HTML a reply may keep: nh3's (Ammonia's) safe tags and attributes, no script, style, event
    handlers or javascript: URLs; links get rel="noopener noreferrer nofollow"."""
    return nh3.clean(html[:MAX_HTML], clean_content_tags={"script", "style", "title", "head"},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def html_to_text(html: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", html)
    text = nh3.clean(text, tags=set(), clean_content_tags={"script", "style", "title", "head"})
    return re.sub(r"\n{3,}", "\n\n", htmllib.unescape(text)).strip()


def _name(part) -> str:
    name = part.get_filename() or "attachment"
    name = _NAME_BAD.sub("_", name).strip(" ._") or "attachment"
    return name[:200]


def parse(raw: bytes, *, max_bytes: int = MAX_BYTES) -> ParsedMail:
    if len(raw) > max_bytes:
        raise Unreadable(f"message of {len(raw)} bytes is over the {max_bytes} byte limit")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not msg.keys():
        raise Unreadable("not an email message")
    sender = parseaddr(str(msg.get("From", "")))[1][:254]
    html_raw = _part_text(msg.get_body(preferencelist=("html",)))
    text_raw = _part_text(msg.get_body(preferencelist=("plain",)))
    html = sanitise_html(quotes.strip_html(html_raw)) if html_raw else ""
    text = quotes.strip_text(text_raw) if text_raw else quotes.strip_text(html_to_text(html))
    attachments = []
    for part in msg.iter_attachments():
        if len(attachments) >= MAX_ATTACHMENTS:
            break
        content = part.get_payload(decode=True) or b""
        attachments.append(Attachment(_name(part), part.get_content_type(), len(content), content))
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower() not in ("", "no") or \
        str(msg.get("Precedence", "")).strip().lower() in ("bulk", "junk", "auto_reply") or \
        msg.get_content_type() == "multipart/report"
    return ParsedMail(sender=sender, recipients=_addresses(msg, _RECIPIENT_HEADERS),
                      subject=" ".join(str(msg.get("Subject", "")).split())[:255],
                      message_id=_id(msg.get("Message-ID")), in_reply_to=_id(msg.get("In-Reply-To")),
                      text=text[:MAX_TEXT], html=html, attachments=attachments, automatic=auto)
