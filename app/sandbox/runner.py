"""Runs code in the jail: prlimit (caps) → setpriv (user nobody, no groups) → bwrap (new user, pid,
net, ipc, uts and cgroup namespaces; a filesystem of the Python runtime only, read-only; a private
/tmp; no environment) → Debian's python3 -I -S running harness.py as the namespace's pid 1
(`--as-pid-1`: bwrap waits for it itself, so no bwrap init is left behind as a zombie for a
container's non-reaping pid 1 — those counted against RLIMIT_NPROC until runs were refused). JSON in on stdin, JSON out on
stdout; the wall clock and the output cap are enforced here, the rest by the kernel."""
from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.sandbox.limits import Limits, describe

HARNESS = Path(__file__).with_name("harness.py")
PYTHON = "/usr/bin/python3"
# The jail's user: a uid with no account, one per worker process (RLIMIT_NPROC counts processes per
# uid: one worker's fork bomb, or the system's own `nobody` processes, never starve another's runs)
UID_BASE = 1_900_000
PROBE_EVERY = 60          # seconds between two checks that a jail can be made here
_lock = threading.Lock()
_state: dict = {}


@dataclass(frozen=True)
class Result:
    """One run: `writes` when it returned, else `error` and a `reason` (error, cpu, wall, memory,
    processes, file_size, output, signal, unavailable). stdout/stderr are what it printed (capped)."""
    writes: dict | None = None
    error: str | None = None
    reason: str | None = None
    line: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    limits: Limits = field(default_factory=Limits)

    @property
    def ok(self) -> bool:
        return self.writes is not None

    @property
    def message(self) -> str:
        """The reason in plain words, for the Stage Run's error."""
        caps = {"cpu": "cpu_seconds", "wall": "wall_seconds", "memory": "memory_mb", "processes": "processes",
                "file_size": "file_size_mb", "output": "output_kb"}
        if self.reason in caps:
            name = caps[self.reason]
            cap = f"limit reached: {describe(name, getattr(self.limits, name))}"
            return f"{cap} — {self.error}" if self.error and self.reason not in ("cpu", "wall", "output") else cap
        if self.reason == "unavailable":
            return f"the code sandbox is unavailable on this machine ({self.error}); Code Stages never run " \
                   "unsandboxed: an administrator must install bubblewrap (apt-get install bubblewrap) and " \
                   "allow unprivileged user namespaces"
        where = f" (line {self.line})" if self.line else ""
        return f"{self.error}{where}"


def _harness_dir() -> str:
    """A folder holding only harness.py, readable by the sandbox user, once per process."""
    with _lock:
        folder = _state.get("dir")
        if folder is None or not os.path.exists(os.path.join(folder, "harness.py")):
            folder = tempfile.mkdtemp(prefix="procly-sandbox-")
            os.chmod(folder, 0o755)
            target = os.path.join(folder, "harness.py")
            shutil.copyfile(HARNESS, target)
            os.chmod(target, 0o644)
            _state["dir"] = folder
        return folder


def command(limits: Limits, python: str = PYTHON) -> list[str]:
    bwrap = shutil.which("bwrap") or "bwrap"
    mb = 1024 * 1024
    caps = ["prlimit", f"--as={limits.memory_mb * mb}", f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            "--nofile=64", f"--fsize={limits.file_size_mb * mb}", f"--nproc={limits.processes}", "--core=0"]
    uid = sandbox_uid()
    user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if os.geteuid() == 0 else []
    jail = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--as-pid-1", "--die-with-parent", "--new-session",
            "--clearenv", "--setenv", "PATH", "/usr/bin", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--ro-bind", "/usr/lib", "/usr/lib", "--ro-bind-try", "/usr/lib64", "/usr/lib64",
            "--ro-bind", os.path.realpath(python), "/usr/bin/python3",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--proc", "/proc", "--dev", "/dev", "--size", str(2 * limits.file_size_mb * mb), "--tmpfs", "/tmp",
            "--ro-bind", _harness_dir(), "/sandbox", "--chdir", "/tmp",
            "/usr/bin/python3", "-I", "-S", "/sandbox/harness.py"]
    return caps + user + jail


def sandbox_uid() -> int:
    return UID_BASE + os.getpid() % 65536


def unavailable_reason() -> str | None:
    if not shutil.which("bwrap"):
        return "bwrap not found"
    if not shutil.which("prlimit") or (os.geteuid() == 0 and not shutil.which("setpriv")):
        return "prlimit or setpriv not found (util-linux)"
    if not os.access(PYTHON, os.X_OK):
        return f"{PYTHON} not found"
    return None


def available(*, refresh: bool = False) -> str | None:
    """None when a jail can be made here (checked by running one, at most once a minute per process),
    else the reason."""
    with _lock:
        checked = _state.get("available")
        if checked is not None and not refresh and time.monotonic() - checked[0] < PROBE_EVERY:
            return checked[1]
    reason = unavailable_reason()
    if reason is None:
        probe = _execute("def run(fields):\n    return {'ok': True}\n", {}, {}, Limits())
        reason = None if probe.writes == {"ok": True} else (probe.error or probe.stderr or "the probe run failed")[:300]
    with _lock:
        _state["available"] = (time.monotonic(), reason)
    return reason


def run(code: str, inputs: dict, limits: Limits | None = None, *, secrets: dict | None = None) -> Result:
    """Run `code`'s `run(fields)` on `inputs` in the jail. Never raises for the code's own doings."""
    limits = limits or Limits()
    reason = unavailable_reason()
    if reason:
        return Result(error=reason, reason="unavailable", limits=limits)
    return _execute(code, inputs, secrets or {}, limits)


def _execute(code: str, inputs: dict, secrets: dict, limits: Limits) -> Result:
    marker = f"@@procly-result-{uuid.uuid4().hex}@@"
    payload = json.dumps({"code": code, "fields": inputs, "secrets": secrets, "marker": marker},
                         default=str).encode()
    started = time.monotonic()
    try:
        proc = subprocess.Popen(command(limits), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"})
    except OSError as exc:
        return Result(error=str(exc), reason="unavailable", limits=limits)
    out, err, killed = _collect(proc, payload, limits)
    _, raw, usage = os.wait4(proc.pid, 0)   # with the CPU time of the jail's reaped processes
    status = proc.returncode = os.waitstatus_to_exitcode(raw)
    if not killed and status in (128 + signal.SIGKILL, -signal.SIGKILL) \
            and usage.ru_utime + usage.ru_stime >= limits.cpu_seconds:
        killed = "cpu"    # the kernel's hard CPU limit: the code had ignored or outlasted SIGXCPU
    duration = (time.monotonic() - started) * 1000
    stdout, _, answer = out.partition(b"\n" + marker.encode())
    if not _:
        stdout, answer = out, b""
    text = {"stdout": stdout.decode(errors="replace"), "stderr": err.decode(errors="replace"),
            "duration_ms": duration, "limits": limits}
    if killed:
        return Result(error=f"{killed} limit", reason=killed, **text)
    if answer:
        try:
            reply = json.loads(answer.split(b"\n", 1)[0])
        except ValueError:
            reply = {"error": "the answer was not valid JSON", "reason": "error"}
        if "writes" in reply:
            return Result(writes=reply["writes"], **text)
        return Result(error=reply.get("error"), reason=reply.get("reason") or "error", line=reply.get("line"), **text)
    return Result(**_exit_reason(status, text["stderr"]), **text)


def _exit_reason(status: int, stderr: str) -> dict:
    """The jail ended without an answer: a cap hit by the kernel, a crash, or bwrap failing to start."""
    sig = status - 128 if status > 128 else (-status if status < 0 else 0)
    if sig == signal.SIGXCPU:
        return {"error": "CPU time limit", "reason": "cpu"}
    if sig == signal.SIGXFSZ:
        return {"error": "file size limit", "reason": "file_size"}
    if sig:
        return {"error": f"the code was killed by signal {signal.Signals(sig).name}", "reason": "signal"}
    if stderr.startswith("bwrap:") or stderr.startswith("prlimit:") or stderr.startswith("setpriv:"):
        return {"error": stderr.strip().splitlines()[0][:300], "reason": "unavailable"}
    return {"error": f"the code ended without returning (exit status {status})", "reason": "error"}


def _collect(proc: subprocess.Popen, payload: bytes, limits: Limits) -> tuple[bytes, bytes, str | None]:
    """Feed stdin, read stdout/stderr until EOF; kill the jail past the wall clock or the output cap."""
    deadline = time.monotonic() + limits.wall_seconds
    cap = limits.output_kb * 1024 + 64
    chunks: dict = {proc.stdout: [], proc.stderr: []}
    size, killed = 0, None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    pending = memoryview(payload)
    os.set_blocking(proc.stdin.fileno(), False)
    sel.register(proc.stdin, selectors.EVENT_WRITE)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                killed = "wall"
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]):]
                    except BlockingIOError:
                        continue
                    except OSError:      # the jail is gone (or closed its stdin): nothing more to feed
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                size += len(data)
                chunks[key.fileobj].append(data)
                if size > cap:
                    killed = "output"
                    break
            if killed:
                break
    finally:
        sel.close()
        if killed:
            _kill(proc)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if not stream.closed:
                stream.close()
    out, err = b"".join(chunks[proc.stdout]), b"".join(chunks[proc.stderr])
    return out[:cap], err[:cap], killed


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the jail's outer process: bwrap's --die-with-parent and the pid namespace take every
    process inside with it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
