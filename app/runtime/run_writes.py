"""The changed Stage Runs of a transition written by Core UPDATEs (one executemany per set of changed
columns) instead of the ORM's unit of work, whose bookkeeping per object cost more than the statements.

Only plain column changes of persistent runs are written here; anything else (a relationship, a run
added or deleted through the session) is left to the ORM's flush, which still writes the Task
(its `lock_version` check: a concurrent writer fails and retries, as before) and the visit. The
objects end as a flush leaves them: their values committed, nothing left dirty."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from sqlalchemy import bindparam, inspect, update

from app.extensions import db
from app.models import StageRun

_COLUMNS = frozenset(c.key for c in StageRun.__mapper__.column_attrs) - {"id"}


@lru_cache(maxsize=256)
def _statement(keys: tuple[str, ...]):
    table = StageRun.__table__
    return (update(table).where(table.c.id == bindparam("_id"))
            .values({key: bindparam(f"v_{key}") for key in keys}))


def write_runs(runs: Iterable[StageRun]) -> None:
    """UPDATE the runs among `runs` whose only changes are column values; mark them clean."""
    groups: dict[tuple[str, ...], list] = {}
    for run in runs:
        state = inspect(run)
        if not state.modified or state.key is None or state.deleted or state.session_id is None:
            continue
        keys = tuple(sorted(state.committed_state))
        if keys and _COLUMNS.issuperset(keys) and all(k in state.dict for k in keys):
            groups.setdefault(keys, []).append(state)
    if not groups:
        return
    session = db.session()
    connection = session.connection()
    for keys, states in groups.items():
        connection.execute(_statement(keys), [{"_id": s.dict["id"], **{f"v_{k}": s.dict[k] for k in keys}}
                                              for s in states])
        for state in states:   # as a flush leaves them: committed, not dirty
            state._commit_all(state.dict, session.identity_map)
