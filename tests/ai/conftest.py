"""Fixtures for the AI Prompt stage: a local chat-completions server (tests/ai/model_server.py), an
AI connection pointing at it (its API key in the Team's secrets), and a world with Processes whose
Tasks a real RQ worker runs (in-process AppWorker on the real Redis, or `flask procly worker`)."""
from __future__ import annotations

import pytest

from tests.ai.model_server import ModelServer
from tests.runtime_io.conftest import World, st

KEY = "sk-test-4f9a8b7c6d5e-do-not-leak"
PROMPT = "Qualify this lead. Name: {{ name }}. Budget: {{ budget }}."


@pytest.fixture
def model():
    server = ModelServer()
    yield server
    server.close()


@pytest.fixture
def attacker():
    """A second local server: what a hostile Field value or a redirect would like Procly to call."""
    server = ModelServer()
    yield server
    server.close()


def connection(url: str, **extra) -> dict:
    return {"label": "Test model", "base_url": url, "model": "test-model", "secret": "MODEL_KEY",
            "allow_private": True, "timeout_seconds": 5, **extra}


@pytest.fixture
def world(app, make_user, api_as, model, monkeypatch):
    monkeypatch.setitem(app.config, "AI_CONNECTIONS", {"local": connection(model.url)})
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)   # the connection's own allowance counts
    w = World(app, make_user, api_as)
    admin = api_as(w.admin)
    # API clients made up front: draining the worker detaches the User objects
    w.as_admin, w.as_staff, w.as_approver = admin, api_as(w.staff), api_as(w.approver)
    w.admin_id = w.admin.id
    assert admin.post("/api/v1/secrets", json={"team": "Ops", "name": "MODEL_KEY", "value": KEY}).status_code == 201
    return w


def ai_stage(key="ask", *, reads=("name", "budget"), writes=("note", "ok"), retry=None, approval=None,
             roles=None, visibility=None, **config) -> dict:
    return st(key, "ai_prompt", reads=reads, writes=writes,
              config={"connection": "local", "prompt": PROMPT, **config},
              roles=roles or {"responsible": ["team:Ops"], "approver": ["team:Compliance"]},
              retry=retry or {"attempts": 1}, **({"approval": approval} if approval else {}),
              **({"visibility": visibility} if visibility else {}))
