"""How the staff pages show values: the Jinja filters `show` (a value, "—" for none, Yes/No) and
`when` (a date-time to the minute), and the header split of the Table CSV rows."""
from __future__ import annotations


def show(v):
    if v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return "Yes" if v else "No"
    return v


def when(dt):
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "—"


def split_header(rows):
    """(header row, the other rows) of an iterable of CSV rows."""
    rows = iter(rows)
    return next(rows), rows
