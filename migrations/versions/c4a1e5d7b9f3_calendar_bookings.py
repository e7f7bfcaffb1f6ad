"""calendar bookings and iCalendar attachments in the outbox

bookings: one appointment per row; (host, starts_at, seat) unique, so a slot never holds more
bookings than its seats (a cancelled booking's seat is NULL). outbox.calendar: the .ics sent with
an email.

Revision ID: c4a1e5d7b9f3
Revises: f1e5a0b7c2d9
Create Date: 2026-11-30 19:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'c4a1e5d7b9f3'
down_revision = 'f1e5a0b7c2d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'bookings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=80), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('stage_run_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=300), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('seat', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('attendee_email', sa.String(length=254), nullable=True),
        sa.Column('booked_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['stage_run_id'], ['stage_runs.id'], name=op.f('fk_bookings_stage_run_id_stage_runs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_bookings_task_id_tasks'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
        sa.UniqueConstraint('host', 'starts_at', 'seat', name='uq_bookings_host_start_seat'),
        sa.UniqueConstraint('uid', name=op.f('uq_bookings_uid')),
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_host_window', ['host', 'starts_at', 'ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_stage_run_id'), ['stage_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_task_id'), ['task_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('calendar')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_task_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_stage_run_id'))
        batch_op.drop_index('ix_bookings_host_window')
    op.drop_table('bookings')
