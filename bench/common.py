"""What the runtime benches share: an app on a fresh schema of the given database, and its admin.

    app = fresh_app(db_url, redis_url, instance, world)   # world() runs in the app context, then commit"""
from __future__ import annotations

import os


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
