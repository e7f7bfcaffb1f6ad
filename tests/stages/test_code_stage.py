"""The Code stage type in the engine (in-process RQ worker): config validation, a Task end to end,
failures that retry and escalate, its log."""
from __future__ import annotations

import os

import pytest

from app import sandbox
from app.runtime import jobs
from tests.runtime_io.conftest import World, st

pytestmark = pytest.mark.skipif(sandbox.available() is not None,
                                reason=f"no sandbox here: {sandbox.available()} (.ci/run installs bubblewrap)")


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


def code_stage(code, key="code", reads=("note", "a"), writes=("b", "note"), retry=None, **config):
    return st(key, "code", reads=reads, writes=writes, config={"code": code, **config},
              **({"retry": retry} if retry else {}))


def test_a_task_runs_through_code(world):
    world.process("c", [code_stage("def run(fields):\n    print('hello', fields['a'])\n"
                                   "    return {'b': fields['a'] * 2, 'note': fields['note'].upper()}\n"),
                        st("after", reads=["b"])])
    tid = world.start("c", {"note": "hi", "a": 21, "c": 5})
    world.drain()
    assert world.task(tid).values == {"note": "HI", "a": 21, "b": 42, "c": 5}
    run = world.run(tid, "code")
    assert run.status == "completed"
    assert run.data["log"][0].startswith("code: returned in ")
    assert "stdout: hello 21" in run.data["log"]


def test_the_task_page_shows_the_output_to_who_may_read_its_fields(world, app):
    from tests.helpers import signed_in

    world.process("c", [code_stage("def run(fields):\n    print('the <b>note</b>:', fields['note'])\n"
                                   "    return {'b': 1}\n", reads=("note",))], start={"roles": ["team:Ops"]})
    tid = world.start("c", {"note": "hello"})
    world.drain()
    page = signed_in(app, "admin@x.test", "pw-secret-1").get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Output of the code" in page and "stdout: the &lt;b&gt;note&lt;/b&gt;: hello" in page


def test_only_the_readable_fields_reach_the_code(world):
    world.process("c", [code_stage("def run(fields):\n    return {'note': ','.join(sorted(fields))}\n")])
    tid = world.start("c", {"note": "x", "a": 1, "c": 3, "name": "secret name"})
    world.drain()
    assert world.task(tid).values["note"] == "a,note"


def test_a_write_outside_writes_fails_the_attempt(world):
    world.process("c", [code_stage("def run(fields):\n    return {'c': 1}\n", retry={"attempts": 1})])
    tid = world.start("c", {"a": 1})
    world.drain()
    run = world.run(tid, "code")
    assert run.status == "failed" and "outside writes" in run.error and "c" in run.error
    assert world.task(tid).values.get("c") is None


def test_an_exception_fails_with_its_line_retries_and_escalates(world):
    code = "def run(fields):\n    x = 1\n    raise ValueError('no budget given')\n"
    world.process("c", [code_stage(code, retry={"attempts": 2, "backoff": "0s"})])
    tid = world.start("c", {"a": 1})
    world.drain()
    run = world.run(tid, "code")
    assert run.status == "pending" and run.attempt == 2 and "no budget given" in run.error
    jobs.run_stage(run.id, 2)   # the delayed retry job (RQ's scheduler runs it after the backoff)
    run = world.run(tid, "code")
    assert run.status == "failed" and run.attempt == 2
    assert run.error == "Code: ValueError: no budget given (line 3)"
    assert "code: failed: ValueError: no budget given (line 3)" in run.data["log"][-1] or \
        any("failed: ValueError: no budget given (line 3)" in line for line in run.data["log"])
    assert world.task(tid).needs_attention


def test_output_is_truncated_in_the_log(world):
    world.process("c", [code_stage("def run(fields):\n    for i in range(500):\n        print('line', i)\n"
                                   "    return {}\n")])
    tid = world.start("c", {})
    world.drain()
    log = world.run(tid, "code").data["log"]
    assert world.run(tid, "code").status == "completed"
    assert "stdout: … 460 earlier lines not kept" in log and log[-1] == "stdout: line 499"


@pytest.mark.parametrize("code, message", [
    ("def run(fields)\n    return {}\n", "line 1: expected ':'"),
    ("x = 1\n", "the code must define a function run(fields)"),
    ("def walk(fields):\n    return {}\n", "the code must define a function run(fields)"),
])
def test_the_code_must_compile_and_define_run(world, code, message):
    designer = world.api_as(world.admin)
    world.process("c", [code_stage("def run(fields):\n    return {}\n")])
    draft = designer.get("/api/v1/processes/c/draft").get_json()
    saved = designer.put("/api/v1/processes/c/draft", json={
        "definition": {"stages": [code_stage(code)], "routes": []}, "revision": draft["revision"]})
    assert saved.status_code == 200
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert errors.get("stages[0].config.code") == message, errors


def test_limits_above_the_admins_maxima_are_config_errors(world):
    designer = world.api_as(world.admin)
    world.process("c", [code_stage("def run(fields):\n    return {}\n")])
    draft = designer.get("/api/v1/processes/c/draft").get_json()
    stage = code_stage("def run(fields):\n    return {}\n", limits={"memory_mb": 100000, "cpu_seconds": 1})
    saved = designer.put("/api/v1/processes/c/draft", json={
        "definition": {"stages": [stage], "routes": []}, "revision": draft["revision"]})
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert errors == {"stages[0].config.limits.memory_mb": "at most 512"}, errors


def test_the_builder_lists_the_code_type_with_its_limits(world):
    listed = {t["key"]: t for t in world.api.get("/api/v1/processes/stage-types").get_json()}
    code = listed["code"]
    assert code["automated"] and code["needs"]["sandbox"] and code["needs"]["secrets"]
    assert code["available"] is True and code["limits"]["max"]["memory_mb"] == 512
    assert code["config_schema"]["properties"]["code"]["format"] == "python"


def test_without_a_sandbox_code_stages_fail_closed(world, monkeypatch):
    """No bwrap on the PATH: nothing runs, the Stage fails with a message for the admins, the Task
    needs attention, and the builder's palette says the type cannot run here."""
    monkeypatch.setenv("PATH", "/nonexistent")
    world.process("c", [code_stage("import os\ndef run(fields):\n    os.makedirs('/tmp/ran-unsandboxed')\n"
                                   "    return {'b': 1}\n")])
    tid = world.start("c", {"a": 1})
    world.drain()
    run = world.run(tid, "code")
    assert run.status == "failed"
    assert run.error.startswith("Code: the code sandbox is unavailable on this machine (bwrap not found); "
                                "Code Stages never run unsandboxed")
    assert world.task(tid).needs_attention and world.task(tid).values.get("b") is None
    assert not os.path.exists("/tmp/ran-unsandboxed")
    assert sandbox.available(refresh=True) == "bwrap not found"
    listed = {t["key"]: t for t in world.api.get("/api/v1/processes/stage-types").get_json()}
    assert listed["code"]["available"] is False and listed["code"]["unavailable_reason"] == "bwrap not found"
    monkeypatch.undo()
    assert sandbox.available(refresh=True) is None
