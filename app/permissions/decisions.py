"""The one decision function: `decide(who, operation, obj, **context) -> Decision`.

`who` is a User (signed in or through an API token), a MagicLink (a participant), None (the system:
jobs, Routes, the CLI — always allowed) or an anonymous user. `operation` is a dotted name such as
"run.complete" or "table.edit"; every rule is registered here under that name, so the set of
operations is one table (`RULES`) the parity test iterates.

Outcomes: allowed; *not found* (the object is invisible to the caller: 404, never revealing that it
exists); *forbidden* (visible, not allowed: 403 with the reason). `check` raises the matching
APIError; operations call it themselves, so no surface can forget it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import Forbidden, NotFound
from app.permissions.refs import is_system


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200           # 200 allowed, 403 forbidden, 404 invisible
    reason: str = ""
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def forbid(reason: str, details: dict | None = None) -> Decision:
    return Decision(False, 403, reason, details or {})


def hide(reason: str) -> Decision:
    return Decision(False, 404, reason)


Rule = Callable[..., Decision]
RULES: dict[str, Rule] = {}


def rule(*operations: str):
    """Register a rule function for one or more operation names."""

    def deco(fn: Rule) -> Rule:
        for op in operations:
            if op in RULES:
                raise RuntimeError(f"two rules for {op!r}")
            RULES[op] = fn
        return fn

    return deco


def decide(who, operation: str, obj, **context) -> Decision:
    """May `who` perform `operation` on `obj`? The system (who=None) always may."""
    fn = RULES[operation]   # an unknown operation is a programming error, never a silent allow
    if is_system(who):
        return ALLOW
    return fn(who, obj, operation=operation, **context)


def check(who, operation: str, obj, **context) -> None:
    """`decide`, raising NotFound (404) or Forbidden (403, with the reason) when not allowed."""
    d = decide(who, operation, obj, **context)
    if d.allowed:
        return
    if d.status == 404:
        raise NotFound(d.reason)
    raise Forbidden(d.reason, d.details)


def allowed(who, operation: str, obj, **context) -> bool:
    return decide(who, operation, obj, **context).allowed
