import pytest

from app.runtime.engine import (
    AwaitApproval, CompleteRun, Escalate, FailRun, FinishTask, FireRoute, FlagAttention, ReleaseRun,
    RetryRun, ReturnForRework, SkipStage, StartStage, TaskView, advance, complete, decide_approval,
    duration_seconds, fail, pass_gate, predecessors,
)
from app.runtime.states import IllegalTransition

from ._defs import definition, evaluate, route, stage, task

LINEAR = definition(stage("collect", 0), stage("confirm", 1), stage("schedule", 2))


# --- lane order -------------------------------------------------------------------------------

def test_predecessors_of_a_lane_with_parallel_columns_and_after():
    doc = definition(stage("a", 0), stage("b", 1), stage("c", 1), stage("d", 3),
                     stage("e", 3, after=["b"]), stage("f", 4))
    assert predecessors(doc) == {
        "a": (), "b": ("a",), "c": ("a",),
        "d": ("b", "c"),       # nearest previous column, even with a gap in numbering
        "e": ("b",),           # after replaces lane order
        "f": ("d", "e"),
    }


def test_predecessors_is_pure():
    doc = definition(stage("a", 0), stage("b", 1))
    before = repr(doc)
    assert predecessors(doc) == predecessors(doc)
    assert repr(doc) == before


# --- linear lane ------------------------------------------------------------------------------

def test_linear_lane_start_complete_next_finish():
    t = task()
    assert advance(LINEAR, t, evaluate=evaluate) == [StartStage("collect", "pending")]
    t = task({}, (1, "collect", "in_progress"))
    assert advance(LINEAR, t, evaluate=evaluate) == []
    assert complete(LINEAR, t, 1, evaluate=evaluate) == [CompleteRun(1, "collect"), StartStage("confirm", "pending")]
    t = task({}, (1, "collect", "completed"), (2, "confirm", "started"))
    assert complete(LINEAR, t, 2, evaluate=evaluate) == [CompleteRun(2, "confirm"), StartStage("schedule", "pending")]
    t = task({}, (1, "collect", "completed"), (2, "confirm", "completed"), (3, "schedule", "in_progress"))
    assert complete(LINEAR, t, 3, evaluate=evaluate) == [CompleteRun(3, "schedule"), FinishTask()]


def test_advance_never_gives_a_stage_a_second_run():
    t = task({}, (1, "collect", "completed"), (2, "confirm", "pending"))
    assert advance(LINEAR, t, evaluate=evaluate) == []


def test_highest_run_id_counts_for_a_stage():
    t = task({}, (5, "collect", "completed"), (2, "collect", "failed"), (6, "confirm", "completed"),
             (7, "schedule", "skipped"))
    assert advance(LINEAR, t, evaluate=evaluate) == [FinishTask()]
    t = task({}, (1, "collect", "completed"), (4, "collect", "in_progress"))
    assert advance(LINEAR, t, evaluate=evaluate) == []


def test_finish_only_when_every_stage_is_done():
    assert advance(LINEAR, task({}, (1, "collect", "completed"), (2, "confirm", "skipped"),
                                (3, "schedule", "pending")), evaluate=evaluate) == []
    assert advance(LINEAR, task({}, (1, "collect", "completed"), (2, "confirm", "completed"),
                                (3, "schedule", "failed")), evaluate=evaluate) == []
    assert advance(LINEAR, task({}, (1, "collect", "completed"), (2, "confirm", "completed"),
                                (3, "schedule", "moved")), evaluate=evaluate) == []
    assert advance(LINEAR, task({}, (1, "collect", "completed"), (2, "confirm", "skipped"),
                                (3, "schedule", "completed")), evaluate=evaluate) == [FinishTask()]


# --- joins and after --------------------------------------------------------------------------

PARALLEL = definition(stage("collect", 0), stage("docs", 1), stage("budget", 1), stage("confirm", 2))


def test_parallel_column_starts_together_and_next_column_joins():
    t = task({}, (1, "collect", "in_progress"))
    assert complete(PARALLEL, t, 1, evaluate=evaluate) == [
        CompleteRun(1, "collect"), StartStage("docs", "pending"), StartStage("budget", "pending")]
    t = task({}, (1, "collect", "completed"), (2, "docs", "in_progress"), (3, "budget", "in_progress"))
    assert complete(PARALLEL, t, 2, evaluate=evaluate) == [CompleteRun(2, "docs")]  # budget still open
    t = task({}, (1, "collect", "completed"), (2, "docs", "completed"), (3, "budget", "in_progress"))
    assert complete(PARALLEL, t, 3, evaluate=evaluate) == [CompleteRun(3, "budget"), StartStage("confirm", "pending")]


def test_after_overrides_lane_order():
    doc = definition(stage("collect", 0), stage("docs", 1), stage("budget", 1),
                     stage("quote", 2, after=["budget"]), stage("confirm", 2))
    t = task({}, (1, "collect", "completed"), (2, "docs", "in_progress"), (3, "budget", "in_progress"))
    assert complete(doc, t, 3, evaluate=evaluate) == [CompleteRun(3, "budget"), StartStage("quote", "pending")]


# --- start_when / skip_when -------------------------------------------------------------------

def test_start_when_blocks_then_releases_after_a_value_change():
    doc = definition(stage("collect", 0), stage("confirm", 1, start_when="documents_received"))
    t = task({"documents_received": False}, (1, "collect", "in_progress"))
    assert complete(doc, t, 1, evaluate=evaluate) == [CompleteRun(1, "collect"), StartStage("confirm", "blocked")]
    blocked = task({"documents_received": False}, (1, "collect", "completed"), (2, "confirm", "blocked"))
    assert advance(doc, blocked, evaluate=evaluate, fields_changed=True) == []
    released = TaskView({"documents_received": True}, blocked.runs)
    assert advance(doc, released, evaluate=evaluate, fields_changed=True) == [ReleaseRun(2, "confirm")]
    assert advance(doc, released, evaluate=evaluate) == [ReleaseRun(2, "confirm")]  # re-evaluated on every call


def test_released_blocked_run_still_meets_its_gate():
    doc = definition(stage("collect", 0), stage("confirm", 1, start_when="ready", gate={"type": "manual"}))
    t = task({"ready": True}, (1, "collect", "completed"), (2, "confirm", "blocked"))
    assert advance(doc, t, evaluate=evaluate) == [ReleaseRun(2, "confirm", "gated")]


def test_blocked_run_is_skipped_when_skip_when_comes_to_hold():
    doc = definition(stage("a", 0, start_when="ready", skip_when="waived"), stage("b", 1))
    t = task({"waived": True}, (1, "a", "blocked"))
    assert advance(doc, t, evaluate=evaluate, fields_changed=True) == [SkipStage("a", 1), StartStage("b", "pending")]


def test_skip_when_skips_and_successor_starts_in_the_same_call():
    doc = definition(stage("collect", 0), stage("verify", 1, skip_when="returning_client"),
                     stage("kyc", 2, skip_when="returning_client"), stage("schedule", 3))
    t = task({"returning_client": True}, (1, "collect", "in_progress"))
    assert complete(doc, t, 1, evaluate=evaluate) == [
        CompleteRun(1, "collect"), SkipStage("verify"), SkipStage("kyc"), StartStage("schedule", "pending")]


def test_skip_when_wins_over_start_when_and_last_skip_finishes():
    doc = definition(stage("a", 0), stage("b", 1, start_when="never", skip_when="skip"))
    t = task({"skip": True}, (1, "a", "started"))
    assert complete(doc, t, 1, evaluate=evaluate) == [CompleteRun(1, "a"), SkipStage("b"), FinishTask()]


def test_a_stage_with_after_is_reached_through_skipped_stages():
    doc = definition(stage("a", 0, skip_when="s"), stage("b", 1, skip_when="s"), stage("c", 2, after=["a", "b"]))
    assert advance(doc, task({"s": True}), evaluate=evaluate) == [SkipStage("a"), SkipStage("b"), StartStage("c", "pending")]


# --- gates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("gate", [
    {"type": "approval", "condition": None, "approvers": ["team:Intake"]},
    {"type": "manual", "condition": None, "approvers": []},
])
def test_approval_and_manual_gates_are_passed_by_a_person(gate):
    doc = definition(stage("collect", 0), stage("confirm", 1, gate=gate))
    t = task({}, (1, "collect", "in_progress"))
    assert complete(doc, t, 1, evaluate=evaluate) == [CompleteRun(1, "collect"), StartStage("confirm", "gated")]
    gated = task({}, (1, "collect", "completed"), (2, "confirm", "gated"))
    assert advance(doc, gated, evaluate=evaluate, fields_changed=True) == []
    assert pass_gate(doc, gated, 2) == [ReleaseRun(2, "confirm")]


def test_condition_gate_opens_itself():
    gate = {"type": "condition", "condition": "eligible", "approvers": []}
    doc = definition(stage("collect", 0), stage("confirm", 1, gate=gate))
    t = task({"eligible": True}, (1, "collect", "in_progress"))
    assert complete(doc, t, 1, evaluate=evaluate) == [CompleteRun(1, "collect"), StartStage("confirm", "pending")]
    t = task({"eligible": False}, (1, "collect", "in_progress"))
    assert complete(doc, t, 1, evaluate=evaluate)[1] == StartStage("confirm", "gated")
    gated = task({"eligible": True}, (1, "collect", "completed"), (2, "confirm", "gated"))
    assert advance(doc, gated, evaluate=evaluate, fields_changed=True) == [ReleaseRun(2, "confirm")]


def test_pass_gate_refuses_a_run_that_is_not_gated():
    doc = definition(stage("a", 0, gate={"type": "manual"}))
    with pytest.raises(IllegalTransition):
        pass_gate(doc, task({}, (1, "a", "pending")), 1)


def test_approval_gate_decided_by_an_approver():
    doc = definition(stage("a", 0, gate={"type": "approval", "approvers": ["role:manager"]}), routes=[
        route("declined", "approval_rejected", stage_key="a", process="rejection")])
    gated = task({}, (1, "a", "gated"))
    assert decide_approval(doc, gated, 1, True, evaluate=evaluate) == [ReleaseRun(1, "a")]
    assert decide_approval(doc, gated, 1, False, evaluate=evaluate) == [
        FireRoute("declined", "rejection", None, None, "approval_rejected")]
    no_route = definition(doc["stages"][0])
    assert decide_approval(no_route, gated, 1, False, evaluate=evaluate) == [
        FlagAttention("approval gate of stage 'a' rejected")]


# --- approval after the work ------------------------------------------------------------------

APPROVED = {"required": True, "approvers": ["team:Intake"], "sla": None}


def test_approval_required_awaits_then_approve_completes_and_advances():
    doc = definition(stage("draft", 0, type="ai_prompt", approval=APPROVED), stage("send", 1))
    t = task({}, (1, "draft", "started"))
    assert complete(doc, t, 1, evaluate=evaluate) == [AwaitApproval(1, "draft")]
    waiting = task({}, (1, "draft", "awaiting_approval", 1, "pending"))
    assert decide_approval(doc, waiting, 1, True, evaluate=evaluate) == [
        CompleteRun(1, "draft"), StartStage("send", "pending")]
    already = task({}, (1, "draft", "in_progress", 1, "approved"))
    assert complete(doc, already, 1, evaluate=evaluate) == [CompleteRun(1, "draft"), StartStage("send", "pending")]


def test_rejection_returns_for_rework_or_fires_its_route():
    doc = definition(stage("draft", 0, approval=APPROVED), stage("send", 1))
    waiting = task({}, (1, "draft", "awaiting_approval", 1, "pending"))
    assert decide_approval(doc, waiting, 1, False, evaluate=evaluate) == [ReturnForRework(1, "draft")]
    doc["routes"] = [route("other", "approval_rejected", stage_key="send", process="x"),
                     route("declined", "approval_rejected", stage_key="draft", process="rejection", target_stage="notify"),
                     route("later", "approval_rejected", stage_key="draft", process="y")]
    assert decide_approval(doc, waiting, 1, False, evaluate=evaluate) == [
        FireRoute("declined", "rejection", None, "notify", "approval_rejected")]


def test_deciding_a_run_that_awaits_nothing_is_illegal():
    doc = definition(stage("draft", 0, approval=APPROVED))
    with pytest.raises(IllegalTransition):
        decide_approval(doc, task({}, (1, "draft", "in_progress")), 1, True, evaluate=evaluate)


def test_completing_a_run_that_was_not_started_is_illegal():
    with pytest.raises(IllegalTransition):
        complete(LINEAR, task({}, (1, "collect", "pending")), 1, evaluate=evaluate)
    with pytest.raises(KeyError):
        complete(LINEAR, task({}, (1, "collect", "started")), 99, evaluate=evaluate)


# --- failures ---------------------------------------------------------------------------------

RETRYING = {"attempts": 3, "backoff": "10s", "factor": 2.0}


def test_failures_retry_with_backoff_then_fail_flag_escalate_and_route():
    doc = definition(stage("collect", 0), stage("hook", 1, type="webhook", retry=RETRYING),
                     stage("notes", 1), stage("confirm", 2),
                     routes=[route("hook_down", "stage_failed", stage_key="hook", process="follow_up")])
    base = [(1, "collect", "completed"), (3, "notes", "in_progress")]
    assert fail(doc, task({}, *base, (2, "hook", "started", 1)), 2, "HTTP 503", evaluate=evaluate) == [
        RetryRun(2, "hook", 2, 10.0)]
    assert fail(doc, task({}, *base, (2, "hook", "started", 2)), 2, "HTTP 503", evaluate=evaluate) == [
        RetryRun(2, "hook", 3, 20.0)]
    reason = "stage 'hook' failed after 3 attempt(s): HTTP 503"
    assert fail(doc, task({}, *base, (2, "hook", "started", 3)), 2, "HTTP 503", evaluate=evaluate) == [
        FailRun(2, "hook", "HTTP 503"), FlagAttention(reason), Escalate(2, "hook", ("owner",), reason),
        FireRoute("hook_down", "follow_up", None, None, "stage_failed")]


def test_failed_stage_waits_but_parallel_stage_proceeds():
    doc = definition(stage("collect", 0), stage("hook", 1, retry={"attempts": 1, "backoff": "1m", "factor": 1.0},
                                                roles={"responsible": ["automation"], "approver": [], "informed": [],
                                                       "delegator": ["team:Ops", "user:lead@example.com"]}),
                     stage("notes", 1), stage("confirm", 2))
    t = task({}, (1, "collect", "completed"), (2, "hook", "started"), (3, "notes", "in_progress"))
    decisions = fail(doc, t, 2, "timeout", evaluate=evaluate)
    assert [type(d) for d in decisions] == [FailRun, FlagAttention, Escalate]   # no route defined
    assert decisions[2].to == ("team:Ops", "user:lead@example.com")
    after = task({}, (1, "collect", "completed"), (2, "hook", "failed"), (3, "notes", "in_progress"))
    assert complete(doc, after, 3, evaluate=evaluate) == [CompleteRun(3, "notes")]  # confirm waits for hook
    retried = task({}, (1, "collect", "completed"), (2, "hook", "completed"), (3, "notes", "completed"))
    assert advance(doc, retried, evaluate=evaluate) == [StartStage("confirm", "pending")]


def test_fail_refuses_a_run_that_is_not_running():
    with pytest.raises(IllegalTransition):
        fail(LINEAR, task({}, (1, "collect", "completed")), 1, "boom", evaluate=evaluate)


@pytest.mark.parametrize("text,seconds", [("10s", 10), ("30m", 1800), ("48h", 172800), ("7d", 604800), ("0s", 0)])
def test_duration_seconds(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "h", "1.5h", "-1h", "10 s", "10w", None])
def test_duration_seconds_rejects(text):
    with pytest.raises(ValueError):
        duration_seconds(text)


# --- condition routes -------------------------------------------------------------------------

ROUTED = definition(
    stage("collect", 0), stage("confirm", 1), stage("schedule", 2),
    routes=[
        route("spam", "condition", condition="is_spam", process="spam_review"),
        route("too_small", "condition", stage_key="collect", condition="budget_too_small", process="referral"),
        route("far_away", "condition", stage_key="collect", condition="out_of_area", split="intake-ab"),
        route("failed", "stage_failed", stage_key="confirm", process="follow_up"),
    ])


def test_stage_route_fires_only_when_its_stage_completes():
    t = task({"budget_too_small": True}, (1, "collect", "in_progress"))
    assert complete(ROUTED, t, 1, evaluate=evaluate) == [CompleteRun(1, "collect"),
                                                         FireRoute("too_small", "referral", None, None, "condition")]
    later = task({"budget_too_small": True}, (1, "collect", "completed"), (2, "confirm", "in_progress"))
    assert advance(ROUTED, later, evaluate=evaluate, fields_changed=True) == []
    assert complete(ROUTED, later, 2, evaluate=evaluate) == [CompleteRun(2, "confirm"), StartStage("schedule", "pending")]


def test_stage_route_to_a_split():
    t = task({"out_of_area": True}, (1, "collect", "in_progress"))
    assert complete(ROUTED, t, 1, evaluate=evaluate)[1] == FireRoute("far_away", None, "intake-ab", None, "condition")


def test_process_route_fires_on_first_advance_and_on_field_changes():
    assert advance(ROUTED, task({"is_spam": True}), evaluate=evaluate) == [
        FireRoute("spam", "spam_review", None, None, "condition")]
    assert advance(ROUTED, task({}), evaluate=evaluate) == [StartStage("collect", "pending")]
    running = task({"is_spam": True}, (1, "collect", "in_progress"))
    assert advance(ROUTED, running, evaluate=evaluate) == []      # fields did not change
    assert advance(ROUTED, running, evaluate=evaluate, fields_changed=True) == [
        FireRoute("spam", "spam_review", None, None, "condition")]


def test_first_matching_route_in_document_order_wins_and_nothing_else_happens():
    values = {"is_spam": True, "budget_too_small": True, "out_of_area": True}
    done = task(values, (1, "collect", "completed"))
    assert advance(ROUTED, done, evaluate=evaluate, completed_stage="collect", fields_changed=True) == [
        FireRoute("spam", "spam_review", None, None, "condition")]
    assert advance(ROUTED, done, evaluate=evaluate, completed_stage="collect") == [
        FireRoute("too_small", "referral", None, None, "condition")]       # spam is only checked on changes
    values.pop("budget_too_small")
    assert complete(ROUTED, task(values, (1, "collect", "in_progress")), 1, evaluate=evaluate)[1:] == [
        FireRoute("far_away", None, "intake-ab", None, "condition")]
    blocked = definition(stage("a", 0, start_when="go"), routes=[route("r", "condition", condition="go")])
    assert advance(blocked, task({"go": True}, (1, "a", "blocked")), evaluate=evaluate, fields_changed=True) == [
        FireRoute("r", "referral", None, None, "condition")]        # no ReleaseRun beside the route


def test_conditions_are_only_handed_to_the_injected_evaluator():
    seen = []

    def recording(expr, values):
        seen.append((expr, dict(values)))
        return False

    doc = definition(stage("a", 0, skip_when="x > 1"), stage("b", 1, start_when="y == 'z'"),
                     routes=[route("r", "condition", condition="size(name) > 3")])
    assert advance(doc, task({"x": 0, "y": "q"}), evaluate=recording) == [StartStage("a", "pending")]
    assert seen == [("size(name) > 3", {"x": 0, "y": "q"}), ("x > 1", {"x": 0, "y": "q"})]


# --- conditions the evaluator could not decide (over the CEL budget) ----------------------------

def test_an_undecided_condition_does_not_hold_and_is_reported():
    from app.runtime.engine import ConditionFailed, Undecided

    def undecided(expr, values):
        return Undecided("over budget") if expr == "slow" else evaluate(expr, values)

    doc = definition(stage("a", 0, skip_when="slow"), stage("b", 0, start_when="slow"),
                     stage("c", 0, gate={"type": "condition", "condition": "slow"}),
                     routes=[route("r", "condition", condition="slow")])
    decisions = advance(doc, task(), evaluate=undecided)
    assert decisions[:4] == [ConditionFailed(None, "route:r", "over budget"),
                             ConditionFailed("a", "skip_when", "over budget"),
                             ConditionFailed("b", "start_when", "over budget"),
                             ConditionFailed("c", "gate", "over budget")]
    assert isinstance(decisions[4], FlagAttention) and "skip_when of stage 'a'" in decisions[4].reason
    # not holding: no Route, "a" is not skipped, "b" waits, "c" stays at its gate
    assert decisions[5:] == [StartStage("a", "pending"), StartStage("b", "blocked"), StartStage("c", "gated")]


def test_a_decided_condition_reports_nothing():
    doc = definition(stage("a", 0, skip_when="fast"))
    assert advance(doc, task({"fast": True}), evaluate=evaluate) == [SkipStage("a"), FinishTask()]
