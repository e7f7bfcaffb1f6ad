"""A Task's Field value in SQL, as the Table view shows it: the displayed text (queries.display: strings
as they are, numbers as Python prints them, booleans "true"/"false", a file Field's names joined by
"; ") for case-insensitive "contains" filters and text sorts, and the number of a number Field for
numeric sorts. The same expressions on PostgreSQL (jsonb) and SQLite (JSON text)."""
from __future__ import annotations

from sqlalchemy import Numeric, String, case, cast, func, select

from app.models import Task


def _sqlite(values, key: str):
    path = f'$."{key}"'      # Field keys are lowercase letters, digits, - and _ (app.fields.KEY)
    return func.json_type(values, path), func.json_extract(values, path), path


def text(key: str, field_type: str, dialect: str, values=Task.values):
    """The displayed text of the Field `key` of a Task (NULL when it has no value); `values`: the
    Tasks' values column (Task.values, or a subquery's)."""
    if dialect == "postgresql":
        kind = func.jsonb_typeof(values[key])
        plain = values[key].as_string()
        if field_type != "file":
            return plain
        elems = func.jsonb_array_elements(values[key]).table_valued("value").alias("e")
        names = select(func.string_agg(elems.c.value.op("->>")("name"), "; ")).scalar_subquery()
        return case((kind == "array", names), else_=plain)
    kind, raw, path = _sqlite(values, key)
    plain = case((kind == "true", "true"), (kind == "false", "false"), else_=cast(raw, String))
    if field_type != "file":
        return plain
    elems = func.json_each(values, path).table_valued("value").alias("e")
    names = select(func.group_concat(func.json_extract(elems.c.value, "$.name"), "; ")).scalar_subquery()
    return case((kind == "array", names), else_=plain)


def number(key: str, dialect: str, values=Task.values):
    """The number of a number Field (NULL when it holds none)."""
    if dialect == "postgresql":
        return case((func.jsonb_typeof(values[key]) == "number", cast(values[key].as_string(), Numeric)))
    kind, raw, _ = _sqlite(values, key)
    return case((kind.in_(("integer", "real")), raw))


def contains(expr, needle: str):
    """Case-insensitive "contains" (LIKE with % and _ escaped)."""
    return func.lower(expr).contains(needle.lower(), autoescape=True)
