"""CSV exports: the one writer every download goes through, so no cell can smuggle a spreadsheet
formula (CSV injection, OWASP): text starting with = + - @ or a tab / carriage return gets a
leading apostrophe, which spreadsheets show as text. Numbers stay numbers."""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
audit = logging.getLogger("procly.audit")


def neutralize(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: str cells starting like a formula are prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text of a header row and data rows, every cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralize(c) for c in header])
    writer.writerows([neutralize(c) for c in row] for row in rows)
    return buf.getvalue()


def dicts_to_csv(rows: list[dict]) -> str:
    """Rows of dicts (the keys of the first row are the header); empty text when there are none."""
    if not rows:
        return ""
    header = list(rows[0])
    return to_csv(header, ([row.get(k) for k in header] for row in rows))


def log_export(kind: str, key: str, rows: int, actor: str) -> None:
    """Downloads are reads: they leave a line in the audit log (`procly.audit`), never a database write
    (a GET changes nothing)."""
    audit.info("export %s %s: %d row(s) by %s", kind, key, rows, actor)
