"""The front-end's own checks, run from pytest so that ./scripts/test covers them too: eslint over
static/js with no warning allowed (eslint.config.js) and the Node unit tests of the pure modules
(tests/js/*.test.js). The same npm scripts run in .ci/run's "front-end" phase."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_node = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js and npm are not installed: eslint and the JS unit tests need them")


def npm_run(script: str) -> subprocess.CompletedProcess:
    if not (ROOT / "node_modules" / "eslint").is_dir():
        pytest.fail("node_modules/ lacks the dev dependencies: run scripts/setup.sh (npm ci) first")
    return subprocess.run(["npm", "run", "--silent", script], cwd=ROOT, capture_output=True, text=True, timeout=300)


@needs_node
def test_eslint_reports_nothing():
    r = npm_run("lint")
    assert r.returncode == 0, f"eslint found problems:\n{r.stdout}{r.stderr}"


@needs_node
def test_js_unit_tests_pass():
    r = npm_run("test:js")
    assert r.returncode == 0, f"node --test failed:\n{r.stdout[-20000:]}{r.stderr}"
    # the runner's summary ("# pass 81" in TAP, "ℹ pass 81" in the spec reporter): tests did run
    passed, failed = (re.search(rf"^\W*{word} (\d+)$", r.stdout, re.M) for word in ("pass", "fail"))
    assert passed and int(passed[1]) > 0 and failed and int(failed[1]) == 0, r.stdout[-2000:]
