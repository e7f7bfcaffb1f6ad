"""Small helpers shared by tests."""
import re


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def csrf(client) -> str:
    """The CSRF token of the client's session, read from a signed-in page."""
    return csrf_from(client.get("/queue").get_data(as_text=True))


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
