"""What a typed form (templates/_field_input.html) sends, read back as raw Field values for
`validate_values`. A yes/no toggle sends a hidden "false" and, when switched on, "true" after it, so
the last value of a name counts; an empty input is "not given" (a toggle left off sends "false",
or "" where the form lets a Field stay unanswered)."""
from __future__ import annotations


def submitted(form, fields: dict, keys, prefix: str = "f_", *, clear_text: bool = False) -> tuple[dict, dict]:
    """(what was typed, kept to show again on error; the raw values to validate) for `keys`. An
    emptied text input clears its Field only with `clear_text` (the Task page's Field editor)."""
    typed, raw = {}, {}
    for key in keys:
        name = prefix + key
        if name not in form or key not in fields:
            continue
        value = form.getlist(name)[-1]
        typed[key] = value
        if value != "" or (clear_text and fields[key].type == "text"):
            raw[key] = value
    return typed, raw


def field_errors(details, prefix: str = "values.") -> dict:
    """An APIError's details ({"values.<key>": [...]}) as {key: [...]} for the form; others under "_"."""
    if not isinstance(details, dict):
        return {}
    out: dict = {}
    for path, messages in details.items():
        key = path.removeprefix(prefix) if path.startswith(prefix) else "_"
        out.setdefault(key, []).extend(messages if isinstance(messages, list) else [str(messages)])
    return out
