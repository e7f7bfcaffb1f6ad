"""Password policy (12+ characters, not a commonly used password, no composition rules), enforced by
`flask procly create-user`, `flask procly set-password` and the change-password page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.passwords import password_problem
from app.extensions import db
from app.models import User
from tests.security.conftest import login


@pytest.mark.parametrize("password, why", [
    ("a", "at least 12 characters"),
    ("procly-demo", "at least 12 characters"),   # the old demo password: 11 characters
    ("password1234", "commonly used"),
    ("qwertyuiop123", "commonly used"),
    ("PASSWORD1234", "commonly used"),            # case does not make a common password rare
    ("x" * 300, "at most 256"),
])
def test_weak_passwords_are_refused(password, why):
    assert why in password_problem(password)


@pytest.mark.parametrize("password", ["procly-demo-2026", "correct horse battery staple", "tulip sandwich orbit",
                                      "no digits or symbols at all"])
def test_long_uncommon_passwords_pass_without_composition_rules(password):
    assert password_problem(password) is None


def test_create_user_refuses_a_weak_password(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["procly", "create-user", "weak@example.com", "Weak", "--password", "a"])
    assert r.exit_code != 0 and "at least 12 characters" in r.output
    r = runner.invoke(args=["procly", "create-user", "weak@example.com", "Weak", "--password", "password1234"])
    assert r.exit_code != 0 and "commonly used" in r.output
    assert db.session.scalar(select(User).where(User.email == "weak@example.com")) is None
    r = runner.invoke(args=["procly", "create-user", "ok@example.com", "Ok", "--password", "a long passphrase"])
    assert r.exit_code == 0, r.output
    assert login(app.test_client(), "ok@example.com", "a long passphrase").status_code == 302


def test_set_password_command_ends_sessions(app, client, staff):
    assert login(client, staff.email).status_code == 302
    runner = app.test_cli_runner()
    r = runner.invoke(args=["procly", "set-password", staff.email, "--password", "short"])
    assert r.exit_code != 0 and "at least 12 characters" in r.output
    assert client.get("/api/v1/processes").status_code == 200
    r = runner.invoke(args=["procly", "set-password", staff.email, "--password", "a fresh long passphrase"])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/processes").status_code == 401      # the old session is over
    assert login(app.test_client(), staff.email, "a fresh long passphrase").status_code == 302


def test_demo_users_sign_in_with_the_new_demo_password(demo, web_login, client):
    from app.demo import PASSWORD

    assert PASSWORD == "procly-demo-2026" and password_problem(PASSWORD) is None
    web_login("staff@procly.local", PASSWORD)
    assert client.get("/queue").status_code == 200
