"""Validate and coerce a Task's Field values by Field type. Used by the API, forms and the portal
alike, so a value is checked by the same rules wherever it comes from."""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse
from flask import current_app, has_app_context

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{5,32}$")


class ValueError_(ValueError):
    pass


def _number(v):
    if isinstance(v, bool):
        raise ValueError_("must be a number")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and v.strip():
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError_("must be a number") from None
        return int(d) if d == d.to_integral_value() else float(d)
    raise ValueError_("must be a number")


def _text(v):
    if not isinstance(v, str):
        raise ValueError_("must be text")
    if len(v) > 10_000:
        raise ValueError_("is longer than 10,000 characters")
    return v


def _date(v):
    try:
        return date.fromisoformat(v).isoformat()
    except (TypeError, ValueError):
        raise ValueError_("must be a date like 2026-11-22") from None


def _datetime(v):
    try:
        return datetime.fromisoformat(v).isoformat()
    except (TypeError, ValueError):
        raise ValueError_("must be a date and time like 2026-11-22T09:30") from None


def _boolean(v):
    if isinstance(v, bool):
        return v
    word = v.strip().lower() if isinstance(v, str) else v
    if word in ("true", "on", "1", "yes"):
        return True
    if word in ("false", "off", "0", "no", ""):
        return False
    raise ValueError_("must be yes or no")


def _email(v):
    v = _text(v).strip()
    if not EMAIL.match(v):
        raise ValueError_("must be an email address like name@example.com")
    return v


def _phone(v):
    v = _text(v).strip()
    if not PHONE.match(v) or sum(c.isdigit() for c in v) < 5:
        raise ValueError_("must be a phone number like +1 555 0100")
    return v


def _url(v):
    v = _text(v).strip()
    parts = urlparse(v)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError_("must be an http(s) URL")
    return v


FILE_REF_KEYS = ("id", "name", "content_type", "size")
FILE_LIST_MAX = 50


def _file_ref(v) -> dict:
    if not isinstance(v, dict) or isinstance(v.get("id"), bool) or not isinstance(v.get("id"), int) \
            or not isinstance(v.get("name"), str):
        raise ValueError_('must be a list of stored file references [{"id": 12, "name": "scan.pdf", ...}]')
    return {k: v[k] for k in FILE_REF_KEYS if k in v}


def _file(v):
    """A `file` Field holds a list of references to stored files (app.files): `[{"id", "name",
    "content_type", "size"}]`. The older single `{"name", "url" | "id"}` object is still accepted
    as it was (values written before File upload existed keep working)."""
    if isinstance(v, list):
        if len(v) > FILE_LIST_MAX:
            raise ValueError_(f"holds at most {FILE_LIST_MAX} files")
        return [_file_ref(x) for x in v]
    if not isinstance(v, dict) or not isinstance(v.get("name"), str):
        raise ValueError_('must be a list of stored file references [{"id": 12, "name": "scan.pdf", ...}]')
    return v


JSON_MAX_BYTES = 64 * 1024   # default for FIELD_JSON_MAX_BYTES: one row's value, not a document store


def _json(v):

    cap = current_app.config.get("FIELD_JSON_MAX_BYTES", JSON_MAX_BYTES) if has_app_context() else JSON_MAX_BYTES
    size = len(json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode())
    if size > cap:
        raise ValueError_(f"is {size:,} bytes as JSON; at most {cap:,} are allowed")
    return v


COERCE = {
    "text": _text, "number": _number, "date": _date, "datetime": _datetime, "boolean": _boolean,
    "email": _email, "phone": _phone, "url": _url, "file": _file, "json": _json,
}


def choice_label(choice) -> str:
    """How a choice is shown: its key with spaces for underscores ("in_area" -> "in area")."""
    return str(choice).replace("_", " ")


def _choice(choices: list, value, labels: dict | None = None):
    """A choice's key, given the key itself or the label a person reads (the option's own label, or
    one made from its key; any case, spaces or not)."""
    labels = labels or {}
    if value in choices:
        return value
    if isinstance(value, str):
        wanted = " ".join(value.replace("_", " ").split()).casefold()
        for choice in choices:
            names = {choice_label(choice).casefold(), " ".join(str(labels.get(choice, "")).split()).casefold()}
            if wanted in names:
                return choice
    raise ValueError_(f"must be one of: {', '.join(str(labels.get(c) or choice_label(c)) for c in choices)}")


def coerce(field_type: str, options: dict, value):
    """Return the stored form of `value` for a Field, or raise ValueError_ with a plain message."""
    if value is None or (value == "" and field_type not in ("text", "boolean", "json")):
        return None
    if field_type == "choice":
        retired = options.get("retired") or []
        if value in retired:
            raise ValueError_("is an option no longer offered")
        key = _choice(options.get("choices") or [], value, options.get("labels") or {})
        if key in retired:
            raise ValueError_("is an option no longer offered")
        return key
    return COERCE[field_type](value)


def validate_values(fields: dict, values, *, required: tuple[str, ...] = (), allowed: set[str] | None = None):
    """Check a mapping of Field key → value against `fields` ({key: Field-like with .type, .options}).

    Returns (clean values, errors {key: [message]}). `allowed` limits which keys may be written;
    `required` names keys that must end up with a value."""
    if not isinstance(values, dict):
        return {}, {"values": ["must be an object of field values"]}
    clean, errors = {}, {}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            errors[key] = [f'unknown field "{key}"']
            continue
        if allowed is not None and key not in allowed:
            errors[key] = ["may not be written here"]
            continue
        try:
            clean[key] = coerce(field.type, field.options or {}, value)
        except ValueError_ as exc:
            errors[key] = [str(exc)]
    for key in required:
        if key not in errors and clean.get(key, values.get(key)) in (None, ""):
            errors[key] = ["is required"]
    return clean, errors
