"""schemathesis over /api/openapi.json, as an admin and as a staff member: no server error, and every
response matches its documented schema.

The app runs in its own process (tests/live_app.py) on the test database with the client-intake
demo loaded; the schemathesis CLI (`st run`, the interface that stays stable across its releases)
runs its examples, coverage (boundary values, wrong types, missing fields, huge numbers and
strings) and fuzzing phases against it. Bounded for CI: a fixed seed (PROCLY_FUZZ_SEED explores
others) and PROCLY_FUZZ_EXAMPLES examples per operation. Path, query and body parameters naming
objects draw mostly from the demo's real keys and ids, so operations get past 404 to their code."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.fuzz

SEED = int(os.environ.get("PROCLY_FUZZ_SEED", "20261130"))
EXAMPLES = int(os.environ.get("PROCLY_FUZZ_EXAMPLES", "30"))
REAL = 0.7              # how often a parameter bound to a dictionary takes one of the demo's real values
FUZZ_TOKEN_ID = 1_000_000   # far from the ids the fuzzer tries, so DELETE /tokens/{id} never revokes it
ST = Path(sys.executable).with_name("st")


def _toml(value) -> str:
    """The few TOML shapes the config needs, written inline (JSON strings are TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"


def _dictionaries() -> dict:
    from app.extensions import db
    from app.metrics.report import CHARTS
    from app.models import ApiToken, Field, Process, Split, StageRun, Table, Task, Version
    from app.models.notifications import AlertRule

    def values(column, extra=()):
        found = {v for v in db.session.scalars(select(column).distinct()) if v is not None} | set(extra)
        return {"values": sorted(found, key=str) or ["none"]}

    return {
        "processes": values(Process.key), "tables": values(Table.key), "splits": values(Split.key),
        "fields": values(Field.key), "charts": {"values": list(CHARTS)}, "versions": values(Version.number),
        "tasks": values(Task.id), "runs": values(StageRun.id), "rules": values(AlertRule.id),
        "tokens": {"values": [i for i in values(ApiToken.id)["values"] if i != "none" and i < FUZZ_TOKEN_ID] or [1]},
        "webhooks": {"values": ["leads"]}, "stages": {"values": ["qualify", "collect", "confirm", "schedule"]},
    }


def _bind(name: str) -> dict:
    return {"dictionary": name, "probability": REAL}


def config(dictionaries: dict) -> str:
    top = {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
                   "response_schema_conformance": {"enabled": True}},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "dictionaries": dictionaries,
        "parameters": {
            "path.run_id": _bind("runs"), "path.task_id": _bind("tasks"), "path.rule_id": _bind("rules"),
            "path.token_id": _bind("tokens"), "path.number": _bind("versions"), "path.split_key": _bind("splits"),
            "path.chart": _bind("charts"), "path.field_key": _bind("fields"),
            "query.process": _bind("processes"), "query.stage": _bind("stages"), "query.version": _bind("versions"),
            "body.process": _bind("processes"), "body.table": _bind("tables"), "body.split": _bind("splits"),
            "body.tasks[*].process": _bind("processes"), "body.task_ids[*]": _bind("tasks"),
        },
        "operations": [
            {"include-path-regex": f"^/api/v1/{kind}/\\{{key\\}}", "parameters": {"path.key": _bind(name)}}
            for kind, name in (("processes", "processes"), ("tables", "tables"), ("splits", "splits"),
                               ("webhooks", "webhooks"))
        ],
    }
    return "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in top.items()) + "\n"


def _world(role: str) -> str:
    """The demo with leads at every step, an alert rule, a webhook; the caller's token (its secret)."""
    from app.alerts import create_rule
    from app.auth.tokens import issue_token
    from app.demo import _demo_tasks
    from app.extensions import db
    from app.models import Process, User
    from app.inbound.webhooks import create_webhook

    def user(email):
        return db.session.scalar(select(User).where(User.email == email))

    _demo_tasks(8, user("admin@procly.local"))
    intake = db.session.scalar(select(Process).where(Process.key == "intake"))
    create_rule(intake, {"event_type": "stage.failed", "severity": "warning", "channel": "in_app", "target": [],
                         "active": True}, "system")
    create_webhook({"key": "leads", "process": "intake"}, user("designer@procly.local"))
    token, secret = issue_token(user(f"{role}@procly.local"), "fuzz")
    token.id = FUZZ_TOKEN_ID
    db.session.commit()
    return secret


def _figures(output: str) -> str:
    found = re.search(r"Test cases:\s*\n\s*(.+)", output)
    took = re.search(r"in ([0-9.]+s)", output.strip().splitlines()[-1])
    return f"{found.group(1) if found else '?'} ({took.group(1) if took else '?'})"


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_no_server_error_and_no_schema_violation(role, demo, live_app, tmp_path):
    secret = _world(role)
    (tmp_path / "schemathesis.toml").write_text(config(_dictionaries()))
    base = live_app(RATELIMIT_ENABLED=False)
    run = subprocess.run(
        [str(ST), "--config-file", str(tmp_path / "schemathesis.toml"), "--no-color", "run",
         f"{base}/api/openapi.json", "-H", f"Authorization: Bearer {secret}", "--workers", "1",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = run.stdout + run.stderr
    (tmp_path / "st.log").write_text(output)
    if os.environ.get("PROCLY_FUZZ_LOG"):
        Path(os.environ["PROCLY_FUZZ_LOG"]).write_text(output + (tmp_path / "live.log").read_text())
    print(f"schemathesis as {role}: {_figures(output)}")
    assert run.returncode == 0, output[-20000:]
