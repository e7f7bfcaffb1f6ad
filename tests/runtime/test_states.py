import pytest

from app.runtime.states import DONE, OPEN, TERMINAL, TRANSITIONS, IllegalTransition, can, check

HUMAN_PATH = ["pending", "started", "in_progress", "paused", "in_progress", "waiting_on_participant",
              "in_progress", "awaiting_approval", "in_progress", "awaiting_approval", "completed"]
AUTOMATED_PATH = ["pending", "started", "pending", "started", "failed", "pending", "started", "completed"]


def test_table_covers_every_model_status():
    tasks = pytest.importorskip("app.models.tasks")
    assert set(TRANSITIONS) == {s.value for s in tasks.StageRunStatus}
    assert OPEN == set(tasks.OPEN_STATUSES)


def test_targets_are_known_statuses():
    for targets in TRANSITIONS.values():
        assert targets <= set(TRANSITIONS)


def test_sets():
    assert DONE == {"completed", "skipped"}
    assert TERMINAL == {"completed", "skipped", "moved", "cancelled"}
    assert not OPEN & TERMINAL
    assert "failed" not in OPEN | TERMINAL | DONE  # halted, retryable by staff


@pytest.mark.parametrize("path", [HUMAN_PATH, AUTOMATED_PATH])
def test_happy_paths_are_legal(path):
    for before, after in zip(path, path[1:]):
        check(before, after)


@pytest.mark.parametrize("status", sorted(OPEN))
def test_any_open_run_can_be_moved_cancelled_or_skipped(status):
    check(status, "moved")
    check(status, "cancelled")
    check(status, "skipped")     # a person skips a step that is not needed


def test_a_failed_run_may_be_skipped_or_cancelled_but_not_moved():
    assert can("failed", "skipped") and can("failed", "cancelled") and not can("failed", "moved")


@pytest.mark.parametrize("before,after", [
    ("blocked", "pending"), ("blocked", "skipped"), ("blocked", "gated"), ("gated", "pending"),
    ("failed", "pending"), ("awaiting_approval", "in_progress"),
])
def test_holds_releases_and_retries(before, after):
    assert can(before, after)


@pytest.mark.parametrize("before,after", [
    ("pending", "completed"),          # a person claims it first, a worker starts it first
    ("pending", "pending"),
    ("gated", "started"),
    ("blocked", "started"),
    ("paused", "completed"),
    ("completed", "pending"),
    ("skipped", "pending"),
    ("moved", "pending"),
    ("cancelled", "in_progress"),
    ("failed", "completed"),
    ("failed", "moved"),
    ("skipped", "cancelled"),
])
def test_illegal_transitions_raise(before, after):
    with pytest.raises(IllegalTransition) as info:
        check(before, after)
    assert isinstance(info.value, ValueError)
    assert repr(before) in str(info.value) and repr(after) in str(info.value)


def test_terminal_message_and_unknown_statuses():
    with pytest.raises(IllegalTransition, match="terminal"):
        check("completed", "in_progress")
    with pytest.raises(IllegalTransition, match="unknown status 'done'"):
        check("done", "pending")
    with pytest.raises(IllegalTransition, match="unknown status 'bogus'"):
        check("pending", "bogus")
