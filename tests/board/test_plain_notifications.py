"""Notifications in words (issue 16): a Stage by its name, the kind by its name ("Reminder", not
"sla.reminder"), no "[warning]" prefix; the severity shown only when it is not plain information."""
from __future__ import annotations

from sqlalchemy import select

from app.alerts.delivery import deliver
from app.extensions import db
from app.models import StageRun, User
from app.models.notifications import Notification
from app.runtime.timers import sla_message
from tests.helpers import signed_in


def test_sla_messages_name_the_stage():
    assert sla_message("reminder", "Collect basic information", "24h") == \
        "Collect basic information is due soon (reminder after 24h)"
    assert sla_message("due", "Refer to a partner", "4h") == "Refer to a partner is overdue (it was due after 4h)"
    assert sla_message("escalation", "Refer to a partner", "2h") == "Refer to a partner is escalated: not done after 2h"


def test_a_reminder_reads_as_a_sentence(demo, new_task):
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id))
    deliver(task, "sla.reminder", sla_message("reminder", "Collect basic information", "24h"), run=run)
    db.session.commit()
    staff = db.session.scalar(select(User).where(User.email == "staff@procly.local"))
    note = db.session.scalar(select(Notification).where(Notification.user_id == staff.id))
    assert note.message == f"Task {task.id}: Collect basic information is due soon (reminder after 24h)"
    html = signed_in(demo, "staff@procly.local").get("/queue/notifications").get_data(as_text=True)
    assert '<span class="badge">Reminder</span>' in html and 'badge sev' not in html   # information: no severity badge
    assert "sla.reminder" not in html and "[warning]" not in html and "stage collect" not in html
