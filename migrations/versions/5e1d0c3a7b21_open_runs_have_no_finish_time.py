"""Open Stage Runs have no finish time: a failed run retried kept the time it failed at while it waited
again, so "open" (finished_at IS NULL: My work, work in progress, the live dashboard rows) missed it.
The runtime now clears it on the retry (app.runtime.shell.Transition.set_status); this clears it on
the runs retried before.

Revision ID: 5e1d0c3a7b21
Revises: b7e4c2a9d310
"""
from alembic import op

revision = '5e1d0c3a7b21'
down_revision = 'b7e4c2a9d310'
branch_labels = None
depends_on = None

OPEN = ("pending", "blocked", "gated", "started", "in_progress", "paused", "awaiting_approval",
        "waiting_on_participant")


def upgrade():
    statuses = ", ".join(f"'{s}'" for s in OPEN)
    op.execute(f"UPDATE stage_runs SET finished_at = NULL WHERE finished_at IS NOT NULL AND status IN ({statuses})")


def downgrade():
    pass   # a finish time on an open run was the bug: nothing to put back
