from datetime import datetime, timedelta, timezone

import pytest

from app.runtime.sla import Timer, due_timers, timers_for

START = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00 UTC


def test_standard_approval_48h():
    assert timers_for({"due": "48h", "reminders": [], "escalate_after": None}, START) == [
        Timer("due", datetime(2025, 3, 5, 9, 0, tzinfo=timezone.utc), "48h")]


def test_urgent_security_decision_4h_escalating_after_2h():
    timers = timers_for({"due": "4h", "reminders": [], "escalate_after": "2h"}, START)
    assert timers == [Timer("escalation", datetime(2025, 3, 3, 11, 0, tzinfo=timezone.utc), "2h"),
                      Timer("due", datetime(2025, 3, 3, 13, 0, tzinfo=timezone.utc), "4h")]


def test_complex_compliance_review_7d_with_reminders_at_24h_and_72h():
    timers = timers_for({"due": "7d", "reminders": ["72h", "24h"], "escalate_after": None}, START)
    assert timers == [Timer("reminder", datetime(2025, 3, 4, 9, 0, tzinfo=timezone.utc), "24h"),
                      Timer("reminder", datetime(2025, 3, 6, 9, 0, tzinfo=timezone.utc), "72h"),
                      Timer("due", datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc), "7d")]


@pytest.mark.parametrize("sla", [None, {}])
def test_no_sla_no_timers(sla):
    assert timers_for(sla, START) == []


def test_partial_sla_and_same_instant_order():
    assert timers_for({"reminders": ["1h"]}, START) == [Timer("reminder", START + timedelta(hours=1), "1h")]
    kinds = [t.kind for t in timers_for({"due": "60m", "reminders": ["1h"], "escalate_after": "3600s"}, START)]
    assert kinds == ["reminder", "escalation", "due"]


def test_invalid_duration_is_refused():
    with pytest.raises(ValueError):
        timers_for({"due": "two days"}, START)


def test_due_timers_fire_once_at_or_after_their_time():
    timers = timers_for({"due": "4h", "reminders": ["1h"], "escalate_after": "2h"}, START)
    assert due_timers(timers, set(), START + timedelta(minutes=59)) == []
    assert due_timers(timers, set(), START + timedelta(hours=1)) == [timers[0]]        # at exactly its time
    assert due_timers(timers, {("reminder", "1h")}, START + timedelta(hours=2)) == [
        Timer("escalation", START + timedelta(hours=2), "2h")]
    late = START + timedelta(days=1)
    assert due_timers(timers, set(), late) == timers
    assert due_timers(timers, {("reminder", "1h"), ("escalation", "2h"), ("due", "4h")}, late) == []
