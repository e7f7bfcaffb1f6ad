"""Attack tests for the hardening of issue 11 (docs/security.md, "Hardening"): each performs the
attack through real HTTP requests (test client or a live server) and shows it now fails."""
from __future__ import annotations

import re

import pytest

from tests.api.conftest import _cheap_password_hashing, world  # noqa: F401  (fixtures)

PASSWORD = "pw-secret-1"


def form_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": form_token(client)},
                       **extra)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


@pytest.fixture
def staff(make_user):
    return make_user("staff", teams=("Intake",))

