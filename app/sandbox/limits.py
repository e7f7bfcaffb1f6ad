"""The caps of one sandboxed run: defaults, and the maxima an administrator allows (config keys
`CODE_LIMITS_DEFAULT` / `CODE_LIMITS_MAX`, environment `PROCLY_CODE_MAX_<NAME>`). A Stage may ask
for any value up to the maximum; asking for more is a config error, and the runner clamps anyway."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from flask import current_app, has_app_context


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 2        # CPU time (RLIMIT_CPU; SIGXCPU past it)
    wall_seconds: int = 5       # wall-clock time, then the jail is killed
    memory_mb: int = 256        # address space (RLIMIT_AS): a larger allocation is a MemoryError
    processes: int = 16         # processes of the sandbox user (RLIMIT_NPROC): a fork bomb stops here
    file_size_mb: int = 8       # largest file it may write (RLIMIT_FSIZE), in a private /tmp of twice that
    output_kb: int = 256        # stdout + stderr + the returned JSON, then the jail is killed

    def as_dict(self) -> dict:
        return asdict(self)


LIMIT_NAMES = tuple(f.name for f in fields(Limits))
LABELS = {"cpu_seconds": ("CPU time", "s"), "wall_seconds": ("wall time", "s"), "memory_mb": ("memory", "MB"),
          "processes": ("processes", ""), "file_size_mb": ("file size", "MB"), "output_kb": ("output", "KB")}
HARD_MAXIMA = Limits(cpu_seconds=60, wall_seconds=120, memory_mb=2048, processes=64, file_size_mb=256,
                     output_kb=4096)
DEFAULT_MAXIMA = Limits(cpu_seconds=10, wall_seconds=30, memory_mb=512, processes=32, file_size_mb=32,
                        output_kb=1024)


def maxima() -> Limits:
    """The administrator's maxima (`CODE_LIMITS_MAX`), never above the hard ones."""
    configured = current_app.config.get("CODE_LIMITS_MAX") if has_app_context() else None
    base = replace(DEFAULT_MAXIMA, **{k: int(v) for k, v in (configured or {}).items() if k in LIMIT_NAMES})
    return Limits(**{k: min(getattr(base, k), getattr(HARD_MAXIMA, k)) for k in LIMIT_NAMES})


def defaults() -> Limits:
    configured = current_app.config.get("CODE_LIMITS_DEFAULT") if has_app_context() else None
    return replace(Limits(), **{k: int(v) for k, v in (configured or {}).items() if k in LIMIT_NAMES})


def clamp(asked: dict | None) -> Limits:
    """A Stage's limits: its own values over the defaults, each at least 1 and at most the maximum."""
    top, base = maxima(), defaults()
    values = {k: (asked or {}).get(k) or getattr(base, k) for k in LIMIT_NAMES}
    return Limits(**{k: max(1, min(int(v), getattr(top, k))) for k, v in values.items()})


def describe(name: str, value: int) -> str:
    label, unit = LABELS[name]
    return f"{label} ({value} {unit})".replace(" )", ")")
