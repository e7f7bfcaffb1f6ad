"""Escape attempts from a Code Stage, each through the engine (an in-process RQ worker): the attempt
is contained and the Stage fails with the right message — or, where the code may run but sees
nothing (the environment, a shell), completes showing that nothing leaked. Then a Task end to end
through `flask procly worker` in its own process, which survives all of it."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import inspect

from app import sandbox
from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker

pytestmark = pytest.mark.skipif(sandbox.available() is not None,
                                reason=f"no sandbox here: {sandbox.available()} (.ci/run installs bubblewrap)")
LIMITS = {"cpu_seconds": 1, "wall_seconds": 3}


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


def outcome(world, body: str, values=None, **limits):
    admin_id = inspect(world.admin).identity[0]
    world.admin = world.db.session.get(type(world.admin), admin_id)     # after a drain's session.remove
    code = "import os, socket, sys\n\ndef run(fields):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    world.process("esc", [st("code", "code", reads=["note"], writes=["note"],
                             config={"code": code, "limits": {**LIMITS, **limits}})])
    tid = world.start("esc", values or {"note": "x"})
    world.drain()
    return world.run(tid, "code"), world.task(tid)


def failed_with(world, body: str, *messages: str, **limits):
    run, task = outcome(world, body, **limits)
    assert run.status == "failed", (run.status, run.error, run.data)
    for message in messages:
        assert message in run.error, run.error
    assert task.needs_attention
    return run


NETWORK = [
    ("socket.create_connection(('93.184.216.34', 80), timeout=2)", "Network is unreachable"),
    ("socket.create_connection(('127.0.0.1', 5433), timeout=2)", "Connection refused"),
    ("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('8.8.8.8', 53))", "Network is unreachable"),
    ("s = socket.socket(socket.AF_INET6)\ns.connect(('2606:2800:220:1::1', 80))", "Network is unreachable"),
    ("s = socket.socket(socket.AF_INET6)\ns.connect(('::1', 22))", "Connection refused"),
    ("s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.sendto(b'x', ('2001:4860:4860::8888', 53))",
     "Network is unreachable"),
    ("socket.getaddrinfo('example.com', 443)", "gaierror"),
    ("s = socket.socket(socket.AF_UNIX)\ns.connect('/var/run/postgresql/.s.PGSQL.5432')", "No such file"),
]


@pytest.mark.parametrize("body, message", NETWORK, ids=["tcp4", "tcp4-loopback", "udp4", "tcp6", "tcp6-loopback",
                                                         "udp6", "dns", "unix-socket"])
def test_no_network(world, body, message):
    failed_with(world, body, "Code: ", message)


def test_no_host_files(world, app):
    instance = app.config["PROCLY_INSTANCE"]
    failed_with(world, "return {'note': open('/etc/passwd').read()}", "FileNotFoundError", "/etc/passwd", "(line 4)")
    failed_with(world, f"return {{'note': str(os.listdir({instance!r}))}}", "FileNotFoundError")
    failed_with(world, f"return {{'note': open({str(Path(instance) / 'secret_key')!r}).read()}}", "FileNotFoundError")
    failed_with(world, f"return {{'note': open({str(Path(__file__))!r}).read()}}", "FileNotFoundError")
    run, task = outcome(world, "return {'note': ' '.join(sorted(os.listdir('/')))}")
    assert task.values["note"] == "dev lib lib64 proc sandbox tmp usr"
    run, task = outcome(world, "open('/usr/lib/x', 'w')")
    assert "Read-only file system" in run.error


def test_no_environment_and_no_secret_key(world, app):
    run, task = outcome(world, "return {'note': repr(dict(os.environ)) + repr(open('/proc/1/environ').read())"
                               " + repr(os.listdir('/proc'))}")
    assert run.status == "completed", (run.status, run.error, run.data)
    seen = task.values["note"]
    assert app.config["SECRET_KEY"] not in seen and "SECRETS_KEY" not in seen and "DATABASE_URL" not in seen
    assert "REDIS_URL" not in seen and "PROCLY" not in seen
    assert os.environ.get("PATH", "?") not in seen or os.environ.get("PATH") == "/usr/bin"


def test_an_unprivileged_user(world):
    run, task = outcome(world, "return {'note': f'{os.getuid()} {os.geteuid()} {os.getgid()} {os.getgroups()}'}")
    uid, euid, gid, groups = task.values["note"].split(" ", 3)
    assert uid == euid == gid and int(uid) >= 1_900_000 and groups == "[]"     # no account, no root, no groups


def test_fork_bomb(world):
    failed_with(world, "while True:\n    os.fork()", "limit reached: processes (16)")


def test_four_gigabytes(world):
    failed_with(world, "data = bytearray(4 * 1024 ** 3)", "limit reached: memory (256 MB)", "MemoryError")


def test_infinite_loop_cpu(world):
    failed_with(world, "while True:\n    pass", "limit reached: CPU time (1 s)", wall_seconds=30)


def test_a_loop_that_ignores_the_cpu_signal(world):
    """SIGXCPU ignored (or a long C call that never returns to the interpreter): the kernel's hard
    limit kills it, and the Stage still says which cap was hit."""
    failed_with(world, "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass",
                "limit reached: CPU time (1 s)", wall_seconds=30)   # 2 s of CPU can take long on a busy machine


def test_many_runs_in_one_process_leave_nothing_behind():
    """A worker runs Code Stages back to back, three times past the process cap: each one runs, and
    no process of the jail's user is left over to count against the next run's cap (a container's
    pid 1 that never reaps orphans made the 17th run fail)."""
    code = "def run(fields):\n    return {'n': fields['n'] * 2}\n"
    for n in range(3 * sandbox.Limits().processes):
        assert sandbox.run(code, {"n": n}).writes == {"n": 2 * n}
    uid = str(sandbox.runner.sandbox_uid())
    left = [line for line in os.popen("ps -eo uid=,pid=,stat=,comm=").read().splitlines() if line.split()[0] == uid]
    assert left == []


def test_sleeping_forever_wall(world):
    failed_with(world, "import time\ntime.sleep(3600)", "limit reached: wall time (2 s)", wall_seconds=2)


def test_a_one_gigabyte_file(world):
    failed_with(world, "with open('/tmp/big', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'x' * 2 ** 20)",
                "limit reached: file size (8 MB)", "File too large")


def test_too_much_output(world):
    run = failed_with(world, "print('x' * 10_000_000)", "limit reached: output (64 KB)", output_kb=64)
    assert any(line.startswith("stdout: xxx") for line in run.data["log"])
    assert max(len(line) for line in run.data["log"]) < 600


def test_spawn_a_shell(world):
    import_sub = "import subprocess\n"
    failed_with(world, import_sub + "subprocess.run(['sh', '-c', 'id'])", "FileNotFoundError", "'sh'")
    failed_with(world, import_sub + "subprocess.run(['/bin/bash', '-c', 'id'])", "FileNotFoundError")
    failed_with(world, "os.system('id')\nraise RuntimeError(str(os.system('id')))", "RuntimeError: 32512")


def test_ctypes_tricks(world):
    run, task = outcome(world, "import ctypes\nlibc = ctypes.CDLL(None)\n"
                               "return {'note': str([libc.setuid(0), libc.unshare(0x10000000), libc.chroot(b'/'),"
                               " libc.mount(b'/', b'/tmp', None, 4096, None), libc.unshare(0x40000000)])}")
    assert task.values["note"] == "[-1, -1, -1, -1, -1]"            # EPERM each: no privilege to gain
    failed_with(world, "import ctypes\nctypes.string_at(0)", "killed by signal SIGSEGV")


def test_exit_and_bad_returns(world):
    failed_with(world, "os._exit(3)", "ended without returning (exit status 3)")
    failed_with(world, "raise SystemExit(0)", "SystemExit: 0")
    failed_with(world, "return 'text'", "run() must return a dict")
    failed_with(world, "return {'note': object()}", "not JSON serializable")


def test_a_real_worker_process_runs_code_and_survives_every_escape(world):
    """`flask procly worker` in its own process: a Code Task completes; Tasks that fork-bomb, exhaust
    memory, spin and crash each fail alone; the worker is still alive and runs the next one."""
    good = "def run(fields):\n    return {'b': fields['a'] + 1}\n"
    world.process("good", [st("code", "code", reads=["a"], writes=["b"], config={"code": good})])
    hostile = {
        "bomb": "import os\ndef run(fields):\n    while True:\n        os.fork()\n",
        "memory": "def run(fields):\n    return {'b': len(bytearray(4 * 1024 ** 3))}\n",
        "spin": "def run(fields):\n    while True:\n        pass\n",
        "crash": "import ctypes\ndef run(fields):\n    ctypes.string_at(0)\n",
    }
    for key, code in hostile.items():
        world.process(key, [st("code", "code", reads=["a"], writes=["b"],
                               config={"code": code, "limits": LIMITS})])
    bad = {key: world.start(key, {"a": 1}) for key in hostile}
    first = world.start("good", {"a": 1})
    proc = _flask_worker(world.app)
    try:
        def all_done():
            world.db.session.remove()
            return all(world.run(t, "code").status == "failed" for t in bad.values()) and \
                world.task(first).status == "completed"
        wait_until(all_done, 90, "the hostile runs failed and the good one completed", diagnose=proc.log)
        assert proc.poll() is None, proc.log()[-2000:]
        last = world.start("good", {"a": 41})
        wait_until(lambda: world.task(last).status == "completed", 30, "a Task after them", diagnose=proc.log)
        assert world.task(last).values["b"] == 42
        errors = {key: world.run(t, "code").error for key, t in bad.items()}
        assert "processes" in errors["bomb"] and "memory" in errors["memory"]
        assert "CPU time" in errors["spin"] and "SIGSEGV" in errors["crash"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_a_nul_character_fails_the_stage_not_the_worker(world):
    """PostgreSQL cannot store U+0000 in a JSON value: the Stage fails with the reason, on every database."""
    failed_with(world, "return {'note': 'a' + chr(0) + 'b'}", "NUL character", "note")
