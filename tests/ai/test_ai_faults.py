"""What the model server does wrong, for real over HTTP (tests/ai/model_server.py), with a real RQ
worker running the Task: 429 with Retry-After, 500s, replies that are not chat completions, answers
that are not valid for the writes, and slow answers past the connection's timeout."""
from __future__ import annotations

import json

from sqlalchemy import select

from tests.ai.conftest import ai_stage, connection
from tests.processes import wait_until
from tests.runtime_io.test_sla_recovery import _flask_worker
from tests.ai.model_server import Scripted, answer

GOOD = {"note": "fine", "ok": True}


def _run(world, model, *steps, values=None, **stage):
    model.then(*steps)
    world.process("lead", [ai_stage(review=False, **stage)])
    tid = world.start("lead", values or {"name": "Ada", "budget": 10})
    world.drain()
    return tid, world.run(tid, "ask")


def _outcomes(world, tid):
    from app.models import ModelCall

    return [(c.outcome, c.http_status) for c in world.db.session.scalars(
        select(ModelCall).where(ModelCall.task_id == tid).order_by(ModelCall.id))]


def test_429_waits_on_a_timer_without_holding_the_task_then_succeeds(world, model):
    """A real worker process. The 429's Retry-After (4 s) is waited on a poll timer, not inside the job:
    between the two calls the run shows it is waiting, the Task is not locked (a Field changes at
    once) and the worker is free; then the model is asked again and its answer written."""
    from app.tasks import operations as service

    model.then(Scripted(status=429, headers={"Retry-After": "4"}, body=b'{"error": "slow down"}'), answer(GOOD))
    world.process("lead", [ai_stage(review=False)])
    tid = world.start("lead", {"name": "Ada", "budget": 10})
    proc = _flask_worker(world.app, env={"PROCLY_AI_CONNECTIONS": json.dumps({"local": connection(model.url)})})
    try:
        def waiting():
            world.db.session.remove()
            run = world.run(tid, "ask")
            return run.status == "in_progress" and "rate limited (429): asking again in 4 s" in (run.data or {}).get("log", [])
        wait_until(waiting, 120, "the run waiting out the 429", diagnose=proc.log)
        service.update_values(world.task(tid), {"budget": 20}, None, "system")
        world.db.session.commit()
        assert len(model.requests) == 1          # changed while the run waited, not after it
        wait_until(lambda: world.run(tid, "ask").status == "completed" or world.db.session.remove(), 120,
                   "the second call answered", diagnose=proc.log)
    finally:
        proc.stop()
    assert world.task(tid).values["note"] == "fine" and world.task(tid).values["budget"] == 20
    assert _outcomes(world, tid) == [("rate_limited", 429), ("ok", 200)]
    first, second = model.requests
    assert second["at"] - first["at"] >= 3.95     # it waited what was asked


def test_a_server_that_keeps_rate_limiting_fails_the_attempt_after_five_waits(world, model):
    """Each 429 is a wait on a poll timer (fired here by hand, as the scheduler would when due); the
    sixth 429 in a row fails the attempt with the reason instead of waiting for ever."""
    from app import clock
    from app.models import StageTimer
    from app.runtime import jobs

    limited = Scripted(status=429, headers={"Retry-After": "1"}, body=b"{}")
    tid, run = _run(world, model, *[limited] * 6)
    for _ in range(5):
        assert run.status == "in_progress", (run.status, run.error)
        timer = world.db.session.scalars(select(StageTimer).where(StageTimer.stage_run_id == run.id,
                                                                  StageTimer.fired_at.is_(None))).one()
        timer.due_at = clock.now()
        world.db.session.commit()
        jobs.fire_due_timer(timer.id)
        run = world.run(tid, "ask")
    assert run.status == "failed"
    assert run.error == "AI Prompt: the model server is still rate limiting (429) after 5 waits"
    assert _outcomes(world, tid) == [("rate_limited", 429)] * 6


def test_429_asking_for_longer_than_the_admins_cap_fails_the_attempt_with_the_reason(world, model, app, monkeypatch):
    monkeypatch.setitem(app.config, "AI_MAX_RETRY_AFTER", 5)
    tid, run = _run(world, model, Scripted(status=429, headers={"Retry-After": "120"}, body=b"{}"))
    assert run.status == "failed"
    assert run.error == ("AI Prompt: the model server is rate limiting (429) and asks to wait 120 s, more than 5 s "
                         "(AI_MAX_RETRY_AFTER)")
    assert len(model.requests) == 1 and world.task(tid).needs_attention


def test_500s_are_retried_then_fail_and_the_stage_retries_with_backoff(world, model):
    from app.runtime import jobs

    err = Scripted(status=500, body=b'{"error": "boom"}')
    tid, run = _run(world, model, err, err, err, answer(GOOD), retry={"attempts": 2, "backoff": "0s"})
    assert run.status == "pending" and run.attempt == 2
    assert run.error == "AI Prompt: the model server answered 500"
    assert _outcomes(world, tid) == [("http_error", 500)] * 3
    jobs.run_stage(run.id, 2)     # the delayed retry job (RQ's scheduler runs it after the backoff)
    assert world.run(tid, "ask").status == "completed" and world.task(tid).values["note"] == "fine"


def test_a_reply_that_is_not_a_chat_completion_is_asked_again(world, model):
    tid, run = _run(world, model, Scripted(body=b"<html>oops, not json"), answer(GOOD))
    assert run.status == "completed"
    assert _outcomes(world, tid) == [("malformed", 200), ("ok", 200)]


def test_malformed_replies_every_time_fail_with_the_reason(world, model):
    bad = Scripted(body=b'{"choices": []}')
    tid, run = _run(world, model, bad, bad, bad)
    assert run.status == "failed"
    assert run.error == "AI Prompt: the model server's reply is not a chat completion (malformed JSON)"


def test_an_invalid_answer_is_asked_again_with_the_reason(world, model):
    tid, run = _run(world, model, Scripted(content="Sure! The lead looks fine."), answer({"note": "x", "ok": "maybe"}),
                    answer(GOOD))
    assert run.status == "completed" and world.task(tid).values == {"name": "Ada", "budget": 10, **GOOD}
    assert _outcomes(world, tid) == [("invalid_output", 200), ("invalid_output", 200), ("ok", 200)]
    third = model.requests[2]["json"]["messages"]
    assert third[-1]["content"].startswith("That answer is not valid: ok must be yes or no.")
    assert third[-2] == {"role": "assistant", "content": json.dumps({"note": "x", "ok": "maybe"})}


def test_an_answer_that_stays_invalid_fails_the_stage_after_its_retries(world, model):
    tid, run = _run(world, model, answer({"note": "x"}), answer({"note": "x"}), retries=1)
    assert run.status == "failed"
    assert run.error == "AI Prompt: the model's answer was not valid after 2 tries: the answer leaves out ok"
    assert "the answer is not valid: the answer leaves out ok" in run.data["log"]
    assert world.task(tid).values.get("note") is None


def test_a_slow_server_times_out_is_retried_and_fails_with_the_reason(world, model, app, monkeypatch):
    monkeypatch.setitem(app.config, "AI_CONNECTIONS", {"local": connection(model.url, timeout_seconds=1)})
    slow = answer(GOOD, delay=3)
    tid, run = _run(world, model, slow, slow, slow)
    assert run.status == "failed"
    assert run.error == "AI Prompt: the model server did not answer within 1 s"
    assert _outcomes(world, tid) == [("timeout", None)] * 3


def test_a_slow_answer_within_the_timeout_is_fine(world, model):
    tid, run = _run(world, model, answer(GOOD, delay=1.5))
    assert run.status == "completed"


def test_the_attempt_stays_within_its_time_budget(world, model, app, monkeypatch):
    monkeypatch.setitem(app.config, "AI_ATTEMPT_SECONDS", 3)
    monkeypatch.setitem(app.config, "AI_CONNECTIONS", {"local": connection(model.url, timeout_seconds=2)})
    slow = answer(GOOD, delay=4)
    tid, run = _run(world, model, slow, slow, slow)
    assert run.status == "failed" and ("no time left" in run.error or "gave up after 3 s" in run.error), run.error
    assert len(model.requests) <= 2
