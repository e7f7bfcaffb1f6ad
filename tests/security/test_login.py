"""Sign-in throttling per address, per address+account and per account (without locking the owner
out), and sign-in answers that cost one argon2 verification whether or not the email exists."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.security.conftest import PASSWORD, login


def from_address(addr: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": addr}}


def test_spraying_many_accounts_from_one_address_is_stopped(client, staff):
    """63 different emails from one address: refused with 429 after 20 failures, long before 63."""
    statuses = [login(client, f"nobody{i}@example.com", "Winter2026!").status_code for i in range(63)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    # the address is throttled for every account now, the right password included
    assert login(client, staff.email).status_code == 429
    # another address is not affected
    assert login(client, staff.email, **from_address("192.0.2.7")).status_code == 302


def test_guessing_one_account_from_one_address_is_stopped(client, staff):
    statuses = [login(client, staff.email, f"guess-{i}").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]


def test_guessing_from_many_addresses_hits_the_account_limit_but_not_the_owner(app, staff):
    owner = app.test_client()
    assert login(owner, staff.email, **from_address("198.51.100.1")).status_code == 302   # a known device now
    owner.post("/logout", data={"csrf_token": _page_token(owner)})

    attacker = app.test_client()
    statuses = [login(attacker, staff.email, f"guess-{i}", **from_address(f"203.0.113.{i}")).status_code
                for i in range(31)]
    assert statuses == [401] * 30 + [429]          # 30 failures an hour per account, whatever the address
    fresh = app.test_client()
    assert login(fresh, staff.email, **from_address("203.0.113.200")).status_code == 429
    # the owner's browser carries its known-device cookie: the stranger did not lock them out
    r = login(owner, staff.email, **from_address("198.51.100.1"))
    assert r.status_code == 302 and owner.get("/queue").status_code == 200


def test_a_known_device_cookie_of_another_account_does_not_help(app, staff, make_user):
    other = make_user("staff")
    browser = app.test_client()
    assert login(browser, other.email).status_code == 302
    statuses = [login(browser, staff.email, f"guess-{i}").status_code for i in range(11)]
    assert statuses[-1] == 429


def test_a_forged_device_cookie_is_ignored(app, staff):
    browser = app.test_client()
    browser.set_cookie("procly_device", "eyJ1Ijo.forged", path="/login")
    statuses = [login(browser, staff.email, f"guess-{i}").status_code for i in range(11)]
    assert statuses[-1] == 429


def test_the_429_page_says_when_to_try_again(client, staff):
    for i in range(10):
        login(client, staff.email, f"guess-{i}")
    r = login(client, staff.email, "guess-10")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in r.get_data(as_text=True)


class CountingHasher(PasswordHasher):
    """The cheap test hasher, recording the hash every verification ran against."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


@pytest.fixture
def counting(monkeypatch):
    from app.auth import passwords

    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


def _params(argon2_hash: str) -> str:
    return argon2_hash.split("$")[3]  # "m=8,t=1,p=1": the cost of the verification


def test_unknown_email_costs_the_same_argon2_work_as_a_wrong_password(client, make_user, counting):
    user = make_user("staff", password=PASSWORD)
    inactive = make_user("staff", password=PASSWORD)
    inactive.active = False
    from app.extensions import db

    db.session.commit()
    for email, password in ((user.email, "wrong password!"), ("nobody@example.com", "wrong password!"),
                            (inactive.email, PASSWORD)):
        counting.verified.clear()
        assert login(client, email, password).status_code == 401
        assert len(counting.verified) == 1, email            # exactly one verification on every path
        assert _params(counting.verified[0]) == _params(user.password_hash)


def _page_token(client) -> str:
    from tests.helpers import csrf

    return csrf(client)
