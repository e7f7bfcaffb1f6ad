"""Fixtures of the operations tests: the runtime world (Table, Team, users, Processes) of tests/runtime_io."""
from __future__ import annotations

import pytest

from tests.runtime_io.conftest import World


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)
