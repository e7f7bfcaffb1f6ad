"""Calendar Schedule: free slots (pure functions in `slots.py`), bookings that can never double-book
(`operations.py` over app.models.Booking), busy times from a CalDAV calendar (`busy.py`), the
iCalendar invitation and its email (`invites.py`), signed reschedule / cancel links (`links.py`) and
reminders on the SLA-timer machinery (`reminders.py`). The stage type itself is app.stages.calendar."""
from app.scheduling import reminders


def init_app(app) -> None:
    reminders.init_app(app)     # reminders fired by app.runtime.timers are emailed from here
