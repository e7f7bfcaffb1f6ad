"""Per-Stage-Run discussion threads: comments (internal by default, or external for participants)
and @mentions that notify the people named (only those allowed to see the Stage)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import clock, notifications, permissions
from app.errors import Invalid
from app.extensions import db
from app.models import Comment, Event, StageRun, Thread
from app.infra.queue import publish_after_commit


def thread_of(run: StageRun, create: bool = False) -> Thread | None:
    thread = db.session.scalar(select(Thread).where(Thread.stage_run_id == run.id))
    if thread is None and create:
        thread = Thread(stage_run_id=run.id, created_at=clock.now())
        db.session.add(thread)
        db.session.flush()
    return thread


def comments_of(run: StageRun, *, external_only: bool = False) -> list[Comment]:
    thread = thread_of(run)
    if thread is None:
        return []
    return [c for c in thread.comments if c.external or not external_only]


def add_comment(run: StageRun, body: str, *, external: bool, actor: str, user=None, label: str = "",
                who=None) -> Comment:
    """`user`: the staff author; `who`: whose rights apply when it is not a staff user (a
    participant's magic link); neither = the system."""
    permissions.check(user if user is not None else who, "run.comment", run)
    body = (body or "").strip()
    if not body:
        raise Invalid("A comment needs some text.", {"body": ["required"]})
    if len(body) > 10_000:
        raise Invalid("A comment is at most 10,000 characters.", {"body": ["too long"]})
    thread = thread_of(run, create=True)
    comment = Comment(thread_id=thread.id, author_user_id=user.id if user else None,
                      author_label=(user.name if user else label)[:254], body=body, external=external,
                      created_at=clock.now())
    db.session.add(comment)
    db.session.flush()
    db.session.add(Event(type="comment.added", task_id=run.task_id, stage_run_id=run.id, process_id=run.process_id,
                         actor=actor, data={"comment": comment.id, "external": external}, created_at=clock.now()))
    stage = permissions.stage_for(run)
    base = current_app.config.get("PROCLY_BASE_URL", "")
    for mentioned in notifications.mentioned_users(body):
        if user is not None and mentioned.id == user.id:
            continue
        if not permissions.stage_visible(mentioned, stage, permissions.team_of(run)):
            continue  # never tell someone about a Stage they may not see
        who = user.name if user else label
        notifications.notify(mentioned, "mention", f"{who} mentioned you on Task {run.task_id} ({stage['name']})",
                             task_id=run.task_id, run_id=run.id)
        notifications.queue_email(mentioned.email, f"You were mentioned on Task {run.task_id}",
                                  f"{who} mentioned you in the thread of \"{stage['name']}\".\n\n"
                                  f"{base}/queue/tasks/{run.task_id}\n", kind="mention")
    # ids only: browsers fetch the comment through permission-checked pages
    publish_after_commit("comment.created", {"task": run.task_id, "run": run.id, "comment": comment.id,
                                             "external": external}, room=f"task:{run.task_id}")
    return comment
