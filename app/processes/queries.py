"""What the builder and the API read about Processes: the list, and a draft with its validation errors."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Process
from app.processes import versioning as v


def draft_view(draft, errors) -> dict:
    return {"definition": draft.definition, "revision": draft.revision,
            "updated_by": draft.updated_by.name if draft.updated_by else None,
            "updated_at": draft.updated_at, "errors": v.error_list(errors)}


def draft_payload(process: Process) -> dict:
    """The draft with its current validation errors (GET /draft; inlined in the editor page)."""
    draft = v.peek_draft(process)   # a read: never creates the draft (the first save does)
    _, errors = v.validate_definition(draft.definition, v.context_for(process))
    return draft_view(draft, errors)


def process_list(archived: bool = False) -> list[Process]:
    """Processes by name; archived ones only when asked (GET /processes; the editor page)."""
    q = select(Process).order_by(Process.name)
    if not archived:
        q = q.where(Process.archived_at.is_(None))
    return db.session.scalars(q).all()
