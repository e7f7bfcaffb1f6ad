"""Durations in definitions: `<n><unit>` with unit s, m, h or d ("30m", "48h", "7d")."""
from __future__ import annotations

import re
from datetime import timedelta

DURATION_RE = re.compile(r"^(\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str) -> int:
    """Seconds in a duration such as "10s", "30m", "48h", "7d"; ValueError on anything else."""
    match = DURATION_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid duration {text!r}: expected <n><s|m|h|d>")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def parse(text: str) -> timedelta:
    """`"48h"` -> `timedelta(hours=48)`; ValueError on anything else."""
    return timedelta(seconds=seconds(text))
