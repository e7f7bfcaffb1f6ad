"""The code sandbox: runs a Stage's Python function in a hermetic bubblewrap jail (no network, no
host files, an unprivileged user, caps on CPU, wall time, memory, processes, file size and output).

`run(code, inputs, limits) -> Result`. If the jail cannot be created on this machine, `run` answers a
Result with reason `unavailable` and runs nothing: code never runs unsandboxed. See
docs/stage-types.md (Code) for what the sandbox guarantees."""
from app.sandbox.limits import LIMIT_NAMES, Limits, clamp, maxima
from app.sandbox.runner import Result, available, run

__all__ = ["LIMIT_NAMES", "Limits", "Result", "available", "clamp", "maxima", "run"]
