"""Sandbox overhead per run of a Code Stage: a trivial `run(fields)` through app.sandbox.run (prlimit,
setpriv, bwrap, python3 -I -S, JSON in and out), N runs, p50/p95/max wall time in ms.

    .venv/bin/python -m bench.sandbox_overhead [N]

The figure is the whole cost the sandbox adds to one Stage Run (the Stage's own work is ~0 here)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from app import sandbox

CODE = "def run(fields):\n    return {'b': fields['a'] + 1}\n"


def main(n: int = 200) -> dict:
    reason = sandbox.available()
    if reason:
        raise SystemExit(f"no sandbox on this machine: {reason}")
    for _ in range(5):   # warm the page cache
        sandbox.run(CODE, {"a": 1})
    times = []
    for i in range(n):
        started = time.perf_counter()
        result = sandbox.run(CODE, {"a": i})
        times.append((time.perf_counter() - started) * 1000)
        assert result.writes == {"b": i + 1}, result
    # the same machine, the same moment: a bare `python3 -I -S` start, which any out-of-process run pays
    bare = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", "import json"], check=True)
        bare.append((time.perf_counter() - started) * 1000)
    figures = {"runs": n, "sandboxed": _figures(times), "bare_python": _figures(bare),
               "load_average": os.getloadavg()[0]}
    print(figures)
    return figures


def _figures(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "max_ms": round(times[-1], 1)}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
