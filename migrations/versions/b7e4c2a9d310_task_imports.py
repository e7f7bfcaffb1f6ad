"""CSV imports of Tasks (issue 18, bulk start): task_imports and their rejected rows

Revision ID: b7e4c2a9d310
Revises: 3da5b01e77a1
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'b7e4c2a9d310'
down_revision = '3da5b01e77a1'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        'task_imports',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('process_id', sa.Integer(), sa.ForeignKey('processes.id'), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('columns', JSON, nullable=False),
        sa.Column('content', sa.Text(), nullable=True),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('processed_rows', sa.Integer(), nullable=False),
        sa.Column('started_rows', sa.Integer(), nullable=False),
        sa.Column('failed_rows', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_task_imports_process_id', 'task_imports', ['process_id'])
    op.create_index('ix_task_imports_created_by_id', 'task_imports', ['created_by_id'])
    op.create_table(
        'task_import_errors',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('import_id', sa.Integer(), sa.ForeignKey('task_imports.id', ondelete='CASCADE'), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(128), nullable=False),
        sa.Column('message', sa.String(1000), nullable=False),
    )
    op.create_index('ix_task_import_errors_import_row', 'task_import_errors', ['import_id', 'row'])


def downgrade():
    op.drop_index('ix_task_import_errors_import_row', 'task_import_errors')
    op.drop_table('task_import_errors')
    op.drop_index('ix_task_imports_created_by_id', 'task_imports')
    op.drop_index('ix_task_imports_process_id', 'task_imports')
    op.drop_table('task_imports')
