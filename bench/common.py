"""What the runtime benches share: an app on a fresh schema of the given database, and its admin.

    app = fresh_app(db_url, redis_url, instance, world)   # world() runs in the app context, then commit"""
from __future__ import annotations

import os


def bench_servers(prefix: str = "procly-bench-") -> tuple[str, str, str]:
    """(database URL, Redis URL, instance folder): DATABASE_URL and REDIS_URL when set, else a SQLite
    file and a private embedded Redis on a free port (nobody else flushes it) in a new folder."""
    import socket
    import tempfile

    from app.redis_server import ensure_embedded

    tmp = tempfile.mkdtemp(prefix=prefix)
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        redis_url = ensure_embedded(tmp, port=port)
    return db_url, redis_url, tmp


def fresh_app(db_url: str, redis_url: str, instance: str, world=None):
    """The app on `db_url`, emptied (PostgreSQL: the public schema dropped) and migrated to the head;
    `world()` then builds the bench's data (committed). Rate limits off: a bench is one client."""
    os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "PROCLY_INSTANCE": instance,
                       "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0"})
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db
    from app.factory import create_app

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        if db_url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        if world is not None:
            world()
        db.session.commit()
    return app


def bench_admin():
    """The bench's admin (team Bench), added to the session."""
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import Team, User

    admin = User(email="bench@x.test", name="Bench", role="admin", password_hash=hash_password("bench-pass-1"),
                 teams=[Team(name="Bench")])
    db.session.add(admin)
    return admin
