"""CSV injection in the metrics CSV: Processes named like formulas come out as text (a leading ')."""
from __future__ import annotations

import csv
import io

from tests.security.test_csv_injection import HYPERLINK


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_metrics_csv(app, lane, make_user, api_as):
    from app.extensions import db
    from app.models import Process

    for process in db.session.query(Process):
        process.name = HYPERLINK if process.key == "b" else "@SUM(1)"
    db.session.commit()
    api = api_as(make_user("manager"))
    q = "from=2026-01-05&to=2026-01-12"
    routes = cells(api.get(f"/api/v1/metrics/csv/routes?{q}").get_data(as_text=True))
    head = routes[0]
    assert {"process", "route", "route_name", "target_process", "count"} <= set(head)
    row = dict(zip(head, routes[1]))
    assert (row["process"], row["route"], row["target_process"]) == ("'@SUM(1)", "too_small", "'" + HYPERLINK)
    lead = cells(api.get(f"/api/v1/metrics/csv/lead_times?process=a&{q}").get_data(as_text=True))
    assert lead[1][0] == "'@SUM(1) v1"
