"""a Process's public intake form switch (issue 16)

Revision ID: a9c3e2f1d0b7
Revises: c4a1e5d7b9f3
"""
import sqlalchemy as sa
from alembic import op

revision = 'a9c3e2f1d0b7'
down_revision = 'a1e0c411ca11'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('processes') as batch:
        batch.add_column(sa.Column('intake_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('processes') as batch:
        batch.drop_column('intake_enabled')
