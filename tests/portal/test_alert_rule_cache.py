"""The copy of the active AlertRules each process keeps (app.alerts.cache) instead of a SELECT per
alertable Event: a rule changed through the ORM bumps the stamp in Redis at COMMIT, so every process
reloads; a change made elsewhere (another process's, here a Core statement) is seen once the stamp
moves, or after MAX_AGE at most."""
from sqlalchemy import insert, update

from app.alerts import cache
from app.extensions import db
from app.infra.redis import connection
from app.models.notifications import AlertRule


def _stamp():
    return connection().get(cache.STAMP_KEY)


def test_an_orm_change_is_seen_at_once_and_bumps_the_stamp_at_commit(app, new_task):
    task = new_task()
    pid = task.process_id
    assert not cache.has_rule(pid, "task.completed")        # cached: no rule
    before = _stamp()
    rule = AlertRule(process_id=pid, event_type="task.completed", severity="info", channel="in_app", target="owner")
    db.session.add(rule)
    db.session.flush()
    assert cache.has_rule(pid, "task.completed")             # its own uncommitted rule, from the database
    assert _stamp() == before                                # not announced before COMMIT
    db.session.commit()
    assert _stamp() != before
    assert cache.has_rule(pid, "task.completed") and not cache.has_rule(pid, "stage.failed")
    rule.active = False
    db.session.commit()
    assert not cache.has_rule(pid, "task.completed")
    rule.active, rule.event_type = True, "*"
    db.session.commit()
    assert cache.has_rule(pid, "stage.failed")
    db.session.delete(rule)
    db.session.commit()
    assert not cache.has_rule(pid, "task.completed")


def test_a_rolled_back_rule_is_not_kept(app, new_task):
    pid = new_task().process_id
    db.session.add(AlertRule(process_id=pid, event_type="task.moved", severity="info", channel="in_app", target="owner"))
    db.session.flush()
    assert cache.has_rule(pid, "task.moved")
    db.session.rollback()
    assert not cache.has_rule(pid, "task.moved")


def test_a_change_from_another_process_is_seen_once_the_stamp_moves(app, new_task):
    """Another process wrote the rule (a Core INSERT on its own connection: this process's ORM did not see
    it); this process's copy stands until the stamp moves, then it reloads."""
    pid = new_task().process_id
    assert not cache.has_rule(pid, "task.completed")
    with db.engine.begin() as conn:
        rule_id = conn.execute(insert(AlertRule.__table__).values(
            process_id=pid, event_type="task.completed", severity="info", channel="in_app", target="owner",
            active=True)).inserted_primary_key[0]
    assert not cache.has_rule(pid, "task.completed")       # the copy, until the stamp moves
    connection().incr(cache.STAMP_KEY)                      # what the other process does after its COMMIT
    assert cache.has_rule(pid, "task.completed")
    with db.engine.begin() as conn:
        conn.execute(update(AlertRule.__table__).where(AlertRule.id == rule_id).values(active=False))
    cache._copy["at"] -= cache.MAX_AGE + 1                   # the stamp was missed: MAX_AGE later it is reloaded
    assert not cache.has_rule(pid, "task.completed")
