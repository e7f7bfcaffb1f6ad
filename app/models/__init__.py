"""All models, importable from one place. Each concept lives in its own module."""
from app.models.accounts import NO_PASSWORD, ApiToken, PasswordLink, Role, Scope, Team, User, team_members
from app.models.tables import Field, FieldType, Table
from app.models.processes import Draft, Process, Split, SplitAssignment, SplitVariant, Version
from app.models.tasks import (
    Comment, Event, StageRun, StageRunStatus, StageTimer, Task, TaskStatus, TaskVisit, Thread, VisitOutcome,
)
from app.models.rollups import MetricRollup, MetricRollupHist, MetricRollupState
from app.models.leases import PeriodicLease
from app.models.idempotency import IdempotencyKey
from app.models.notifications import AlertRule, Notification, Outbox
from app.models.portal import MagicLink, Participant
from app.models.webhooks import Webhook
from app.models.signals import TaskSignal
from app.models.secrets import Secret
from app.models.conversations import MailMessage
from app.models.files import StoredFile
from app.models.bookings import Booking
from app.models.ai import ModelCall
from app.models.imports import TaskImport, TaskImportError

__all__ = [
    "NO_PASSWORD", "ApiToken", "PasswordLink", "Role", "Scope", "Team", "User", "team_members",
    "Field", "FieldType", "Table",
    "Draft", "Process", "Split", "SplitAssignment", "SplitVariant", "Version",
    "Comment", "Event", "StageRun", "StageRunStatus", "StageTimer", "Task", "TaskStatus", "TaskVisit", "Thread",
    "VisitOutcome", "MetricRollup", "MetricRollupHist", "MetricRollupState", "PeriodicLease", "IdempotencyKey",
    "AlertRule", "Notification", "Outbox", "MagicLink", "Participant", "Webhook", "TaskSignal", "Secret", "MailMessage", "StoredFile", "Booking",
    "ModelCall", "TaskImport", "TaskImportError",
]
