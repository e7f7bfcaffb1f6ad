"""The demo with its fortnight of work still runs under the authorization rules (its people act
as themselves: staff work, Compliance approves, never their own work)."""


def test_demo_with_tasks_runs_end_to_end(app):
    from sqlalchemy import func, select

    from app.demo import load_demo
    from app.extensions import db
    from app.models import StageRun, Task

    load_demo(tasks=12)
    assert db.session.scalar(select(func.count()).select_from(Task)) >= 12
    approved = db.session.scalar(select(func.count()).select_from(StageRun)
                                 .where(StageRun.approval_status == "approved"))
    assert approved >= 1
