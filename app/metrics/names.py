"""Plain names for what the figures are keyed by: a Stage's key -> its name, a Route's key -> its
name, from the Versions' documents (the newest Version's name wins). Dashboards show these, never keys."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Version


def names(process_id: int | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(Stage names, Route names) by key, of one Process's Versions or of all."""
    q = select(Version.definition).order_by(Version.process_id, Version.number)
    if process_id is not None:
        q = q.where(Version.process_id == process_id)
    stages: dict[str, str] = {}
    routes: dict[str, str] = {}
    for definition in db.session.scalars(q):
        for s in (definition or {}).get("stages", []):
            if s.get("key"):
                stages[s["key"]] = s.get("name") or s["key"]
        for r in (definition or {}).get("routes", []):
            if r.get("key"):
                routes[r["key"]] = r.get("name") or r.get("label") or r["key"]
    return stages, routes


def label(data: dict, process_id: int | None) -> dict:
    """The dashboard's answer with `stage_name` on each Stage row and `route_name` on each Route row."""
    stages, routes = names(process_id)
    for r in data["stages"]:
        r["stage_name"] = stages.get(r["stage_key"], r["stage_key"])
    for r in data["routes"]:
        r["route_name"] = routes.get(r["route_key"], r["route_key"]) if r["route_key"] else "Moved by hand"
    return data
