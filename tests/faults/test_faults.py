"""The fault suite: Procly's real topology, hurt for real, keeps every promise without anyone
restarting anything (the scenario is tests/faults/scenario.py; figures in docs/operations.md).

`flask procly worker --count 2` (a supervisor with RQ's scheduler and cron, two worker processes)
runs against a PostgreSQL and a Redis server of its own for over two minutes, with automated lanes
(one column of two parallel Stages) and SLA reminders due every few seconds. In turn: a worker
SIGKILLed inside a job, Redis FLUSHALL, Redis killed and started again empty, `pg_ctl restart -m fast`,
the postmaster SIGKILLed and started again. After each: every Task finishes with exactly the Stage Runs
and Events of a calm run, every timer fires exactly once, recovery is timed. The scenario runs in a
process of its own, so the app it creates cannot rebind this process's Flask extensions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import pg_bin

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.fault, pytest.mark.slow]
if pg_bin() is None:
    pytestmark.append(pytest.mark.skip(reason="the fault suite needs PostgreSQL (apt-get install -y postgresql)"))
elif not (os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") or os.environ.get("PROCLY_FAULTS")):
    pytestmark.append(pytest.mark.skip(reason="the fault suite runs in the PostgreSQL pass of ./scripts/test "
                                              "(TEST_DATABASE_URL=postgresql…), or with PROCLY_FAULTS=1"))


def test_every_promise_holds_through_five_faults():
    done = subprocess.run([sys.executable, "-m", "tests.faults.scenario"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines else {"ok": False, "error": "no report"}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "faults.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report.get("figures"), indent=2))
    assert done.returncode == 0 and report["ok"], f"{report.get('error')}\n--- stderr ---\n{done.stderr[-4000:]}"
