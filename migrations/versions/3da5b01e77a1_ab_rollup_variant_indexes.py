"""A/B rollup reads per Split variant (issue 18)

Revision ID: 3da5b01e77a1
Revises: a9c3e2f1d0b7
"""
import sqlalchemy as sa
from alembic import op

revision = '3da5b01e77a1'
down_revision = 'a9c3e2f1d0b7'
branch_labels = None
depends_on = None

VARIANT = sa.text("variant_id <> 0")


def upgrade():
    with op.batch_alter_table('metric_rollups') as batch:
        batch.create_index('ix_metric_rollups_variant', ['variant_id', 'grain', 'period_start'],
                           postgresql_where=VARIANT, sqlite_where=VARIANT)
    with op.batch_alter_table('metric_rollup_hist') as batch:
        batch.create_index('ix_metric_rollup_hist_variant', ['variant_id', 'grain', 'measure', 'period_start'],
                           postgresql_where=VARIANT, sqlite_where=VARIANT)


def downgrade():
    with op.batch_alter_table('metric_rollup_hist') as batch:
        batch.drop_index('ix_metric_rollup_hist_variant')
    with op.batch_alter_table('metric_rollups') as batch:
        batch.drop_index('ix_metric_rollups_variant')
