"""What the model must answer: a JSON Schema derived from the types of the Fields the Stage writes, and
the check of an answer against it. The answer is data: only a JSON object whose keys are exactly
those Fields, each value of its Field's type (app.tables.values, the same rules as every input);
anything else — another key, a tool call, prose — is refused."""
from __future__ import annotations

import json

from app.tables.values import validate_values

_TYPES = {
    "text": {"type": ["string", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date": {"type": ["string", "null"], "description": "a date like 2026-11-22"},
    "datetime": {"type": ["string", "null"], "description": "a date and time like 2026-11-22T09:30:00"},
    "email": {"type": ["string", "null"], "description": "an email address"},
    "phone": {"type": ["string", "null"], "description": "a phone number like +1 555 0100"},
    "url": {"type": ["string", "null"], "description": "an http(s) URL"},
    "json": {"type": ["object", "array", "string", "number", "boolean", "null"]},
}


def field_schema(field) -> dict:
    if field.type == "choice":
        choices = list((field.options or {}).get("choices") or [])
        schema = {"enum": [*choices, None]}
    else:
        schema = dict(_TYPES.get(field.type, {"type": ["string", "null"]}))
    hint = schema.pop("description", "")
    schema["description"] = f"{field.name}" + (f": {hint}" if hint else "")
    return schema


def writes_schema(fields: dict, writes: list[str]) -> dict:
    """A JSON Schema (strict: every key required, no other key) of the Stage's writes."""
    return {"type": "object", "properties": {k: field_schema(fields[k]) for k in writes if k in fields},
            "required": [k for k in writes if k in fields], "additionalProperties": False}


class InvalidAnswer(ValueError):
    """The model's answer is not a valid set of values for the Stage's writes (the reason in words)."""


def check_answer(content: str | None, fields: dict, writes: list[str]) -> dict:
    """The answer's values, coerced to the Fields' types; raises InvalidAnswer naming what is wrong."""
    if content is None:
        raise InvalidAnswer("the answer has no text")
    text = content.strip()
    if text.startswith("```"):   # a fenced block around the object: tolerated, the object is what counts
        text = text.strip("`").removeprefix("json").strip()
    try:
        answer = json.loads(text)
    except ValueError:
        raise InvalidAnswer("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise InvalidAnswer("the answer is not a JSON object")
    outside = sorted(set(answer) - set(writes))
    if outside:
        raise InvalidAnswer("the answer names Fields this Stage does not write: " + ", ".join(outside))
    missing = [k for k in writes if k not in answer]
    if missing:
        raise InvalidAnswer("the answer leaves out " + ", ".join(missing))
    clean, errors = validate_values(fields, answer, allowed=set(writes))
    if errors:
        raise InvalidAnswer("; ".join(f"{k} {' '.join(v)}" for k, v in sorted(errors.items())))
    return clean
