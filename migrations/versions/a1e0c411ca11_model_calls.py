"""model calls of AI Prompt Stage Runs (issue 15): prompt, answer, tokens and time per call

Revision ID: a1e0c411ca11
Revises: c4a1e5d7b9f3
Create Date: 2026-11-30 22:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

revision = 'a1e0c411ca11'
down_revision = 'd2u5e7r1s0a9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_run_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('stage_key', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Double(), nullable=False),
    sa.Column('messages', JSON, nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['stage_run_id'], ['stage_runs.id'], name=op.f('fk_model_calls_stage_run_id_stage_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_model_calls_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['process_id'], ['processes.id'], name=op.f('fk_model_calls_process_id_processes')),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_model_calls_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_calls'))
    )
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.create_index('ix_model_calls_run', ['stage_run_id', 'id'], unique=False)
        batch_op.create_index('ix_model_calls_process_created', ['process_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_calls_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_calls_task_id'))
        batch_op.drop_index('ix_model_calls_process_created')
        batch_op.drop_index('ix_model_calls_run')
    op.drop_table('model_calls')
