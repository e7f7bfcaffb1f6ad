"""Which Processes have active AlertRules, and for which alert types: cached per process, checked
against a version stamp in Redis instead of a SELECT per alertable Event (one per Task completion).

Any change to an AlertRule through the ORM (create, update, delete: `app.alerts.rules`, or a test's
`db.session.add`) marks its transaction; after its COMMIT the stamp is bumped, so every process
reloads the rules on its next look. Until then the changing transaction itself reads the rules
from the database (it sees its own uncommitted rule). A change the stamp missed (Redis down at that
moment, a Core statement on the table) is seen after MAX_AGE seconds at most; with Redis down the
cache is not used at all."""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.orm import object_session

from app.extensions import db
from app.infra.redis import connection
from app.models import AlertRule

log = logging.getLogger(__name__)
STAMP_KEY = "procly:alert-rules:stamp"
MAX_AGE = 10.0   # seconds a process trusts its copy without a bumped stamp
_CHANGED = "procly_alert_rules_changed"
# rules: {process_id: frozenset of event types}, of the database `engine` (one process may serve several apps)
_copy: dict = {"stamp": None, "at": 0.0, "rules": None, "engine": None}


def has_rule(process_id: int, type_: str) -> bool:
    """Whether the Process has an active AlertRule for `type_` (or for every type, "*")."""
    if db.session.info.get(_CHANGED):
        return _query(process_id, type_)
    try:
        stamp = connection().get(STAMP_KEY)
    except RedisError:
        return _query(process_id, type_)
    now, engine = time.monotonic(), db.engine
    if _copy["rules"] is None or _copy["stamp"] != stamp or now - _copy["at"] > MAX_AGE or _copy["engine"] is not engine:
        rules: dict = {}
        for pid, event_type in db.session.execute(select(AlertRule.process_id, AlertRule.event_type)
                                                  .where(AlertRule.active.is_(True))):
            rules.setdefault(pid, set()).add(event_type)
        _copy.update(stamp=stamp, at=now, engine=engine,
                     rules={pid: frozenset(types) for pid, types in rules.items()})
    types = _copy["rules"].get(process_id, ())
    return type_ in types or "*" in types


def _query(process_id: int, type_: str) -> bool:
    return db.session.scalar(select(AlertRule.id).where(
        AlertRule.process_id == process_id, AlertRule.active.is_(True),
        AlertRule.event_type.in_([type_, "*"])).limit(1)) is not None


def _changed(_mapper, _connection, rule) -> None:
    (object_session(rule) or db.session()).info[_CHANGED] = True   # the session that writes it
    _copy["rules"] = None


def _committed(session) -> None:
    if session.info.pop(_CHANGED, None):
        _copy["rules"] = None
        try:
            connection().incr(STAMP_KEY)
        except RedisError as exc:   # the commit stands: other processes see the change after MAX_AGE
            log.warning("could not bump the alert rules' stamp (%s); other processes see the change within %d s",
                        exc, MAX_AGE)


def _rolled_back(session, previous) -> None:
    if previous.parent is None and session.info.pop(_CHANGED, None):   # the whole transaction, not a savepoint
        _copy["rules"] = None


def init_app(app) -> None:
    for name in ("after_insert", "after_update", "after_delete"):
        if not event.contains(AlertRule, name, _changed):
            event.listen(AlertRule, name, _changed)
    if not event.contains(db.session, "after_commit", _committed):
        event.listen(db.session, "after_commit", _committed)
        event.listen(db.session, "after_soft_rollback", _rolled_back)
