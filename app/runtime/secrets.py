"""The values of the secrets a Stage declares, for one run: only the Process's Team's secrets, only
the names the Stage's config lists, and each use recorded as an Event (`secret.used`, by name)."""
from __future__ import annotations

from sqlalchemy import select

from app import clock, stages
from app.extensions import db
from app.infra import secretbox
from app.infra.queue import record_event
from app.models import Process, Secret, StageRun, Task


def secret_values(task: Task, run: StageRun, stage: dict, names: list) -> dict:
    process = db.session.get(Process, task.process_id)
    rows = {s.name: s for s in db.session.scalars(
        select(Secret).where(Secret.team_id == process.team_id, Secret.name.in_(names)))}
    missing = [n for n in names if n not in rows]
    if missing:
        raise stages.StageFailed(f"no secret named {', '.join(missing)} in the team of process \"{process.key}\"")
    values, now = {}, clock.now()
    for name in names:
        try:
            values[name] = secretbox.decrypt(rows[name].ciphertext)
        except secretbox.InvalidToken:
            raise stages.StageFailed(f'secret "{name}" cannot be decrypted with the current PROCLY_SECRETS_KEY') from None
        rows[name].last_used_at = now
        record_event({"type": "secret.used", "task_id": task.id, "stage_run_id": run.id,
                      "process_id": task.process_id, "actor": "system", "from_status": None, "to_status": None,
                      "data": {"secret": name, "stage": stage["key"]}, "created_at": now})
    return values
