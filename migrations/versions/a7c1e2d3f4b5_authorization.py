"""authorization: Tables belong to a Team; Stage Runs remember who completed them (four-eyes)

Existing Tables go to the one Team owning Processes on them; a Table used by several Teams' (or
no) Processes is left without a Team, which means only admins change its Fields.

Revision ID: a7c1e2d3f4b5
Revises: 62fab9013556
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c1e2d3f4b5'
down_revision = '62fab9013556'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tables', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tables_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tables_team_id_teams'), 'teams', ['team_id'], ['id'])

    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_stage_runs_completed_by_id_users'), 'users',
                                    ['completed_by_id'], ['id'])

    # a Table used by exactly one Team's Processes belongs to that Team
    op.execute(sa.text(
        "UPDATE tables SET team_id = (SELECT MIN(p.team_id) FROM processes p WHERE p.table_id = tables.id) "
        "WHERE (SELECT COUNT(DISTINCT p.team_id) FROM processes p WHERE p.table_id = tables.id) = 1"))


def downgrade():
    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stage_runs_completed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('completed_by_id')

    with op.batch_alter_table('tables', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tables_team_id_teams'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tables_team_id'))
        batch_op.drop_column('team_id')
