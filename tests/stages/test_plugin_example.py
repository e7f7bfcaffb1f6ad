"""A third-party stage type (examples/procly-stage-example) installed as a package and found through
its `procly.stage_types` entry point: the builder lists it, validation uses its config schema, and a
Task runs through it with a real RQ worker, through the same interface as the built-ins."""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import stages
from tests.runtime_io.conftest import World, st

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "procly-stage-example"


@pytest.fixture(scope="session")
def example_site(tmp_path_factory):
    """The example installed by pip into a folder of its own (no dependencies, no index, built with
    the venv's setuptools): a real installed distribution with its entry point, not in the venv."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--disable-pip-version-check", "--target", str(site), str(source)],
                   check=True, capture_output=True, timeout=120)
    return site


@pytest.fixture
def plugin(app, example_site):
    """The app's registry rebuilt with the example on the import path, as `create_app` builds it."""
    before = app.extensions[stages.registry.EXTENSION]
    sys.path.insert(0, str(example_site))
    importlib.invalidate_caches()
    try:
        yield stages.init_app(app)
    finally:
        app.extensions[stages.registry.EXTENSION] = before
        sys.path.remove(str(example_site))
        for name in [m for m in sys.modules if m.split(".")[0] == "procly_stage_example"]:
            del sys.modules[name]


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


def word_count(key="count", retry=None, **config):
    return st(key, "word_count", reads=["note"], writes=["a"],
              config={"source": "note", "target": "a", **config}, **({"retry": retry} if retry else {}))


def test_entry_point_registers_the_type(plugin, world):
    assert "word_count" in plugin and "word_count" not in stages.build(discover=False)
    listed = {t["key"]: t for t in world.api.get("/api/v1/processes/stage-types").get_json()}
    assert {"basic", "form", "compute", "word_count"} <= set(listed)
    wc = listed["word_count"]
    assert wc["name"] == "Word count" and wc["automated"] is True
    assert set(wc["config_schema"]["required"]) == {"source", "target"}
    assert wc["needs"] == {"egress": False, "secrets": False, "sandbox": False, "files": False}


def test_its_config_is_validated_like_a_built_in(plugin, world):
    designer = world.api_as(world.admin)
    world.process("wc", [word_count()])
    draft = designer.get("/api/v1/processes/wc/draft").get_json()
    bad = {"stages": [st("count", "word_count", reads=["note"], writes=["b"], config={"source": "note"})],
           "routes": []}
    saved = designer.put("/api/v1/processes/wc/draft", json={"definition": bad, "revision": draft["revision"]})
    assert saved.status_code == 200
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert "stages[0].config.target" in errors
    bad["stages"][0]["config"]["target"] = "a"
    saved = designer.put("/api/v1/processes/wc/draft",
                         json={"definition": bad, "revision": saved.get_json()["revision"]})
    assert {e["path"]: e["message"] for e in saved.get_json()["errors"]} == \
        {"stages[0].config.target": '"a" is not in writes'}


def test_a_task_runs_through_it_with_a_real_worker(plugin, world):
    from app.models import StageRun

    world.process("wc", [word_count(), st("after", reads=["a"])])
    task_id = world.start("wc", {"note": "the quick brown fox jumps", "b": 7})
    run = world.run(task_id, "count")
    assert run.status == "pending" and run.automated
    world.drain()
    assert world.task(task_id).values["a"] == 5
    assert world.statuses(task_id) == {"count": "completed", "after": "pending"}
    changed = world.events(task_id, "task.values_changed")
    assert [e.data["fields"] for e in changed] == [["a"]]
    assert world.count(StageRun, task_id=task_id, status="failed") == 0


def test_a_failing_plugin_stage_retries_and_escalates_like_a_built_in(plugin, world):
    world.process("wc", [word_count(minimum=10, retry={"attempts": 1})])
    task_id = world.start("wc", {"note": "too short"})
    world.drain()
    run = world.run(task_id, "count")
    assert run.status == "failed" and "fewer than the 10" in run.error
    assert world.task(task_id).needs_attention


def test_the_example_packages_own_tests_pass(example_site):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                             str(EXAMPLE / "tests")], capture_output=True, text=True, timeout=120,
                            cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
