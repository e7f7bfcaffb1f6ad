"""Fixtures for the builder's browser tests: demo data, a fresh empty Process, and drag helpers."""
from __future__ import annotations

import pytest


@pytest.fixture
def demo(app):
    from app.demo import load_demo

    load_demo(tasks=0)
    return app


@pytest.fixture
def fresh_process(demo):
    """A new, empty Process on the clients table owned by Intake: returns its key."""
    from sqlalchemy import select

    from app.processes import operations as ops
    from app.extensions import db
    from app.models import User

    admin = db.session.scalar(select(User).where(User.email == "designer@procly.local"))
    ops.create_process({"key": "intake-ui", "name": "Intake (UI)", "description": "", "table": "clients",
                        "team": "Intake"}, admin)
    db.session.commit()
    return "intake-ui"


@pytest.fixture
def designer_api(demo, api_as):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    return api_as(db.session.scalar(select(User).where(User.email == "designer@procly.local")))


def drag(page, source, target, *, steps: int = 12, drop: bool = True) -> None:
    """Drag with real mouse events (SortableJS runs in fallback mode); drop=False leaves the
    button down over the target so a caller can time the drop itself."""
    source.scroll_into_view_if_needed()
    a = source.bounding_box()
    target.scroll_into_view_if_needed()
    b = target.bounding_box()
    a = source.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(a["x"] + a["width"] / 2 + 6, a["y"] + a["height"] / 2 + 6, steps=3)
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + min(b["height"] - 6, b["height"] / 2 + 10), steps=steps)
    page.wait_for_timeout(80)
    if drop:
        page.mouse.up()


def open_editor(page, base: str, key: str) -> None:
    page.goto(f"{base}/builder/{key}")
    page.wait_for_selector("#builder[data-ready=true]")


def wait_saved(page, timeout: float = 8000) -> None:
    page.wait_for_function("() => { const s = window.builderState; return s && !s.dirty && !s.saving; }",
                           timeout=timeout)



def drag_until(page, source, target, selector: str, attempts: int = 3) -> None:
    """Drag, and retry if the drop did not land (synthetic mouse drags are occasionally too quick)."""
    for _ in range(attempts):
        page.wait_for_timeout(150)
        wait_saved(page)        # an autosave answering mid-drag may re-render the error markers
        drag(page, source, target)
        try:
            page.wait_for_selector(selector, timeout=3000)
            return
        except Exception:  # noqa: BLE001 - retried below
            page.mouse.up()
    page.wait_for_selector(selector, timeout=1000)
