"""The Alembic migrations: one head, and exactly the models' schema once upgraded."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory


def _script(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_single_head(app):
    heads = _script(app).get_heads()
    assert len(heads) == 1, heads


def test_database_is_at_head(app):
    from app.extensions import db

    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    assert set(current) == set(_script(app).get_heads())


def test_upgraded_schema_matches_models(app):
    from app.extensions import db

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diffs = compare_metadata(ctx, db.metadata)
    assert diffs == []
