"""Plain checks on what an upload claims and contains: its name (sanitised for display and the
download header, never used as a path) and its type (detected from the first bytes with `filetype`,
a maintained magic-number library; the name's extension is never trusted)."""
from __future__ import annotations

import os
import unicodedata
from urllib.parse import unquote

import filetype
from flask import request

NAME_MAX = 120          # characters kept of a name (the extension is kept whole)
HEAD_BYTES = 8192       # what filetype inspects (it reads at most the first 8 KiB)
TEXT_EXTENSIONS = {"txt", "csv", "tsv", "md", "log"}


def sanitise(raw: str | None) -> str:
    """A display name from what the client sent: the last path component only (no `../`, no
    drive or folder), control and format characters removed, Unicode normalised (NFC), leading dots
    dropped (no hidden files), at most NAME_MAX characters. Empty or nothing left -> "file"."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")   # Cc, Cf, Cs, Co, Cn
    name = " ".join(name.split()).strip(" .")
    if name in ("", ".", ".."):
        return "file"
    stem, ext = os.path.splitext(name)
    if len(ext) > 16:
        stem, ext = name, ""
    return (stem[: NAME_MAX - len(ext)] or "file") + ext


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lstrip(".").lower()


def detect(head: bytes, name: str) -> tuple[str, str, str]:
    """(MIME type, extension, plain description) of content starting with `head`. Unrecognised
    content is plain text when it decodes as UTF-8 without NUL bytes and is named like text,
    otherwise "application/octet-stream" (no allowed kind matches that)."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime, kind.extension, DESCRIPTIONS.get(kind.mime, f"a {kind.extension.upper()} file")
    if head and b"\x00" not in head and extension(name) in TEXT_EXTENSIONS and _utf8(head):
        return "text/plain", extension(name), "plain text"
    return "application/octet-stream", "", "a file of unknown type"


def _utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:   # a multi-byte character cut at the end of the head is fine
        return exc.start >= len(head) - 3
    return True


DESCRIPTIONS = {
    "application/x-msdownload": "a Windows program (.exe)",
    "application/x-executable": "a program (ELF)",
    "application/x-mach-binary": "a program (Mach-O)",
    "application/x-sh": "a shell script",
    "application/zip": "a ZIP archive",
    "application/pdf": "a PDF document",
    "image/jpeg": "a JPEG image", "image/png": "a PNG image", "image/gif": "a GIF image",
    "image/webp": "a WebP image",
}


ALIASES = {"jpg": {"jpeg", "jpe"}, "tif": {"tiff"}, "heic": {"heif"}, "txt": TEXT_EXTENSIONS}


def with_extension(name: str, ext: str) -> str:
    """The name, with the detected type's extension when its own does not fit the content (a
    PNG named report.pdf becomes report.pdf.png), so no program opens it as something else."""
    if not ext or extension(name) in ALIASES.get(ext, set()) | {ext}:
        return name
    return sanitise(f"{name}.{ext}")


def request_filename() -> str | None:
    """The name an upload request gives its body: `X-Filename` (percent-encoded UTF-8) or `?name=`."""
    raw = request.headers.get("X-Filename") or request.args.get("name")
    return unquote(raw, errors="replace") if raw else None
