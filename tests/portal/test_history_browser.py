"""The Task page tells a Task's story in sentences: a Task sent back for rework by its Route, moved by
a manager with a reason, then cancelled — read in Chromium, photographed for docs/screenshots."""
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import StageRun, User

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _run(task_id, stage):
    db.session.expire_all()
    return db.session.scalars(select(StageRun).where(StageRun.task_id == task_id, StageRun.stage_key == stage)
                              .order_by(StageRun.id.desc())).first()


@pytest.mark.browser
def test_moved_reworked_and_cancelled_task_reads_as_sentences(demo, live_server, page, login_page, screenshot):
    from app.processes import operations, versioning
    from app.tasks import moves, operations as service

    user = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    process = operations.create_process({"key": "callback", "name": "Callback", "description": "",
                                         "table": "clients", "team": "Intake"}, user["admin"])
    versioning.publish(process, user["admin"], "v1", definition={"stages": [
        {"key": "call", "name": "Call the client", "type": "basic", "reads": ["name"], "writes": ["notes"]},
        {"key": "review", "name": "Review the call", "type": "basic", "reads": ["notes"], "writes": [],
         "approval": {"required": True, "approvers": ["role:manager"], "four_eyes": False}}],
        "routes": [{"key": "redo", "name": "Call again", "stage": "review", "trigger": {"type": "approval_rejected"},
                    "target": {"stage": "call"}}]})
    task = service.create_task({"process": "callback", "values": {"name": "Robin Rework", "email": "r@example.com"}},
                               None, "system")
    db.session.commit()
    service.act(_run(task.id, "call").id, "complete", f"user:{user['staff'].id}", user=user["staff"],
                values={"notes": "no answer"})
    service.act(_run(task.id, "review").id, "complete", f"user:{user['staff'].id}", user=user["staff"])
    service.act(_run(task.id, "review").id, "reject", f"user:{user['manager'].id}", user=user["manager"],
                comment="try the mobile number")
    moves.move_tasks([task.id], process_key="follow-up", reason="client asked for a specialist",
                     actor=f"user:{user['manager'].id}", user=user["manager"])
    service.cancel_tasks([task.id], user["manager"], f"user:{user['manager'].id}", "client withdrew")
    db.session.commit()

    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "manager@procly.local")
    page.goto(f"{live_server}/queue/tasks/{task.id}")
    activity = page.locator("#activity").inner_text()
    for sentence in ("Task cancelled by Morgan Manager: “client withdrew”",
                     "Moved to Follow-up by Morgan Manager: “client asked for a specialist”",
                     "Sent back to Call the client by Route “Call again”",
                     "Review the call was cancelled by Morgan Manager: “sent back to Call the client by Route “Call again””",
                     "Review the call sent back by Morgan Manager: “try the mobile number”",
                     "Call the client was completed by Sam Staff", "Task started"):
        assert sentence in activity, activity
    for key in ("stage.status", "task.moved", "user:", "review", "redo"):
        assert key not in activity, (key, activity)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.locator("#activity").scroll_into_view_if_needed()
    shutil.copy(screenshot(page, "history", full_page=False), DOCS / "task-history.png")
