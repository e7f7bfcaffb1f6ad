"""periodic leases; automated and run_after on stage runs (the sweep's index)

Revision ID: a7c31e0d5b21
Revises: 934a95de3558
Create Date: 2026-11-30 16:30:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = 'a7c31e0d5b21'
down_revision = '934a95de3558'
branch_labels = None
depends_on = None

AUTOMATED_TYPES = ("compute",)  # the automated stage types that existed when this ran


def upgrade():
    op.create_table(
        'periodic_leases',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('holder', sa.String(length=128), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql'), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_leases')),
    )
    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automated', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('run_after', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_stage_runs_automated_pending', ['ready_at'], unique=False,
                              postgresql_where=sa.text("status = 'pending' AND automated"),
                              sqlite_where=sa.text("status = 'pending' AND automated"))
    # mark the open automated runs already in the database, so the sweep sees them
    conn = op.get_bind()
    for version_id, definition in conn.execute(sa.text("SELECT id, definition FROM versions")).all():
        doc = json.loads(definition) if isinstance(definition, str) else definition
        keys = [s["key"] for s in (doc or {}).get("stages", []) if s.get("type") in AUTOMATED_TYPES]
        if keys:
            conn.execute(sa.text("UPDATE stage_runs SET automated = :yes WHERE version_id = :v AND stage_key IN :keys")
                         .bindparams(sa.bindparam("keys", expanding=True)),
                         {"yes": True, "v": version_id, "keys": keys})


def downgrade():
    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_runs_automated_pending',
                            postgresql_where=sa.text("status = 'pending' AND automated"),
                            sqlite_where=sa.text("status = 'pending' AND automated"))
        batch_op.drop_column('run_after')
        batch_op.drop_column('automated')
    op.drop_table('periodic_leases')
