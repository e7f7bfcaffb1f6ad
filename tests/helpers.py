"""Small helpers shared by tests."""
import re


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def csrf(client) -> str:
    """The CSRF token of the client's session, read from a signed-in page."""
    return csrf_from(client.get("/queue").get_data(as_text=True))


def db_snapshot() -> dict:
    """Everything a refused request must leave as it was: Tasks and their values, Stage Runs,
    visits, Events, Tables and Fields, Processes, drafts and Versions, Splits, webhooks, links,
    tokens. Columns a read legitimately touches (last_used_at, used_count) are left out."""
    from sqlalchemy import text

    from app.extensions import db

    queries = {
        "tasks": "SELECT id, process_id, version_id, status, lock_version, needs_attention FROM tasks",
        "values": "SELECT id, \"values\" FROM tasks",
        "runs": "SELECT id, status, stage_key, version_id, claimed_by_id, completed_by_id, decided_by_id, "
                "approval_status, attempt FROM stage_runs",
        "visits": "SELECT id, process_id, version_id, left_at, outcome FROM task_visits",
        "events": "SELECT COUNT(*), MAX(id) FROM events",
        "tables": "SELECT id, key, name, team_id FROM tables",
        "fields": "SELECT id, table_id, key, name, type, required, position FROM fields",
        "processes": "SELECT id, key, name, team_id, current_version, archived_at FROM processes",
        "drafts": "SELECT process_id, revision FROM drafts",
        "versions": "SELECT COUNT(*), MAX(id) FROM versions",
        "splits": "SELECT v.id, v.split_id, v.weight FROM split_variants v",
        "webhooks": "SELECT id, key, process_key, split_key, active FROM webhooks",
        "links": "SELECT id, task_id, revoked_at FROM magic_links",
        "tokens": "SELECT id, revoked_at FROM api_tokens",
        "comments": "SELECT COUNT(*), MAX(id) FROM comments",
        "rules": "SELECT COUNT(*), MAX(id) FROM alert_rules",
        "assignments": "SELECT COUNT(*), MAX(id) FROM split_assignments",
    }
    out = {}
    for name, sql in queries.items():
        rows = db.session.execute(text(sql + (" ORDER BY 1" if "COUNT" not in sql else ""))).all()
        out[name] = [tuple(str(c) for c in r) for r in rows]
    return out


def signed_in(app, email: str, password: str = "procly-demo-2026"):
    """A fresh test client signed in through the login form (its own cookie jar, so bearer-token
    clients sharing the default `client` are not overridden by this session)."""
    from flask import g

    g.pop("csrf_token", None)   # Flask-WTF caches the token on the (test-shared) app context
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.data
    return client


class Rendezvous:
    """Hold `parties` threads right after each has run its first SQL statement containing `marker`
    (say, the lookup before an insert), then release them together: a race staged for real on the
    database, with no sleeps. Use as a context manager around the threads."""

    def __init__(self, engine, marker: str, parties: int = 2):
        import threading

        self.engine, self.marker = engine, marker
        self.barrier, self.local = threading.Barrier(parties, timeout=20), threading.local()

    def _after(self, conn, cursor, statement, params, context, executemany):
        if self.marker in statement and not getattr(self.local, "met", False):
            self.local.met = True
            self.barrier.wait()

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "after_cursor_execute", self._after)


def race_marker(engine, lookup: str) -> str:
    """Where two requests should meet to race: on PostgreSQL right after `lookup` (both have looked
    before either writes: the unique constraint decides); SQLite serializes writing transactions
    (every API call writes its token's last use first), so there they meet at their first statement."""
    return lookup if engine.dialect.name == "postgresql" else "api_tokens"
