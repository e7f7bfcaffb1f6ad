"""What the engine announces to the services above it, which listen (connected in their `init_app`)
instead of being imported by the engine: blinker signals, as Flask's own.

- `event_recorded` (sender: the Event row dict, as app.infra.queue.record_event writes it): every
  runtime Event as it is recorded, in the transaction. app.alerts turns those its rules name into alerts.
- `alert` (sender: the Task; `type_`, `message`, `run`, `recipients`): the engine raises an alert
  (an escalation, an SLA timer). app.alerts records and delivers it.
- `appointment_reminder` (sender: the Stage Run; `timer`): a reminder timer of a booked appointment
  (scope "appointment") fired. app.scheduling emails the attendee."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
event_recorded = _signals.signal("procly.event-recorded")
alert = _signals.signal("procly.alert")
appointment_reminder = _signals.signal("procly.appointment-reminder")
