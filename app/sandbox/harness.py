"""The script that runs *inside* the jail (copied there; never imported by the app at run time).

Reads one JSON request on stdin ({"code", "fields", "secrets", "marker"}), compiles the code, calls
its `run(fields)` (or `run(fields, secrets)`), and writes the marker then one JSON answer line to
stdout: {"writes": {...}} or {"error": ..., "kind": ..., "line": ...}. Anything the code printed comes
before the marker. Standard library only: the jail's Python runs with -I -S."""
import errno
import json
import os
import signal
import sys
import traceback

REASONS = {errno.EFBIG: "file_size", errno.EAGAIN: "processes", errno.ENOSPC: "file_size"}


def _line_of(exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<stage code>"]
    return frames[-1].lineno if frames else None


def _call(code: str, fields: dict, secrets: dict) -> dict:
    namespace = {"__name__": "stage"}
    exec(compile(code, "<stage code>", "exec"), namespace)  # noqa: S102 - this is the jail's purpose
    fn = namespace.get("run")
    if not callable(fn):
        raise TypeError("the code must define a function run(fields)")
    takes = getattr(getattr(fn, "__code__", None), "co_argcount", 1)
    result = fn(fields, secrets) if takes >= 2 else fn(fields)
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise TypeError(f"run() must return a dict of Field values, not {type(result).__name__}")
    return result


def _cpu_limit(*_) -> None:
    """SIGXCPU at the soft CPU limit. The harness is its pid namespace's pid 1, for which an unhandled
    signal is ignored: end as the default action would (the runner reads status 128 + SIGXCPU)."""
    os._exit(128 + signal.SIGXCPU)


def main() -> None:
    signal.signal(signal.SIGXCPU, _cpu_limit)
    request = json.loads(sys.stdin.buffer.read())
    me = os.getpid()
    marker = request.pop("marker").encode()
    try:
        writes = _call(request["code"], request.get("fields") or {}, request.get("secrets") or {})
        answer = json.dumps({"writes": writes}, allow_nan=False)
    except MemoryError:
        answer = json.dumps({"error": "MemoryError: out of memory", "kind": "MemoryError", "reason": "memory"})
    except BaseException as exc:  # the code's own failure, SystemExit included: reported, not raised
        reason = REASONS.get(getattr(exc, "errno", None), "error") if isinstance(exc, OSError) else "error"
        if isinstance(exc, (TypeError, ValueError)) and "JSON" in str(exc):
            reason = "error"
        answer = json.dumps({"error": f"{type(exc).__name__}: {exc}"[:2000], "kind": type(exc).__name__,
                             "line": _line_of(exc), "reason": reason,
                             "traceback": "".join(traceback.format_exception(exc))[-4000:]})
    sys.stdout.flush()
    sys.stderr.flush()
    if os.getpid() != me:  # a process the code forked: only the harness itself answers
        os._exit(0)
    os.write(1, b"\n" + marker + answer.encode())


if __name__ == "__main__":
    main()
