"""What the web tier's savings (docs/performance.md, "Web tier") must not cost: a token's revocation
still stops it at once although `last_used_at` is written only once a minute; a Process looked up again
in the same session after a change is the changed one; a creation issues a bounded number of statements."""
import pytest
from sqlalchemy import event, select

from app import clock, lookups
from app.auth.tokens import issue_token, revoke_token
from app.extensions import db
from app.models import ApiToken

START = {"process": "spam-filter", "values": {"name": "Ann", "email": "ann@example.com", "message": "hi"}}


@pytest.fixture
def frozen():
    c = clock.FrozenClock(clock.now())
    clock.set_clock(c)
    yield c
    clock.set_clock(None)


def _token_row(name: str) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(select(ApiToken).where(ApiToken.name == name))


def test_last_used_at_is_written_once_a_minute_and_revocation_still_bites_at_once(app, client, users, frozen):
    _, secret = issue_token(users["staff"], "touch", scope="write")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/tasks", json=START, headers=headers).status_code == 201
    first = _token_row("touch").last_used_at
    assert first == frozen()
    frozen.advance(seconds=30)
    assert client.post("/api/v1/tasks", json=START, headers=headers).status_code == 201
    assert _token_row("touch").last_used_at == first          # within the minute: not rewritten
    frozen.advance(seconds=31)
    assert client.post("/api/v1/tasks", json=START, headers=headers).status_code == 201
    assert _token_row("touch").last_used_at == frozen()       # a minute later: written again
    revoke_token(_token_row("touch"), users["staff"])
    db.session.commit()
    r = client.post("/api/v1/tasks", json=START, headers=headers)
    assert r.status_code == 401                                # no cached authentication


def test_a_remembered_process_is_looked_up_again_when_it_changed(app, demo):
    process = lookups.find_process("spam-filter")
    assert lookups.find_process("spam-filter") is process     # one SELECT per session
    process.key = "spam-filter-2"
    db.session.flush()
    assert lookups.find_process("spam-filter") is None         # the key moved: not the remembered row
    assert lookups.find_process("spam-filter-2") is process
    db.session.rollback()
    assert lookups.find_process("spam-filter").key == "spam-filter"
    version = lookups.find_version(process.id, process.current_version)
    assert lookups.find_version(process.id, process.current_version) is version
    assert lookups.find_version(process.id, 999) is None


def test_a_creation_issues_a_bounded_number_of_statements(app, client, users):
    _, secret = issue_token(users["staff"], "count", scope="write")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/tasks", json=START, headers=headers).status_code == 201   # warm
    seen = []

    def count(conn, cursor, statement, *_):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement.split("\n")[0][:80])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.post("/api/v1/tasks", json=START, headers=headers).status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # 24 before (docs/performance.md "Web tier"); 13 since, and a little room for a new Stage feature
    assert len(seen) <= 16, "\n".join(seen)
    assert sum("FROM processes" in s for s in seen) <= 1, "\n".join(seen)
    assert not any(s.startswith("UPDATE api_tokens") for s in seen), "\n".join(seen)

