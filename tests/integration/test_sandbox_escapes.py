"""Escape attempts against the hook sandbox (issue 8: the 66 kinds tried against `beamtrack serve`,
and more), at the level of the worker's sandbox supervisor: each case is a hook module that tries
one thing; the call must fail with the job error naming the violation (the text the runner stores,
``runner._hook_error``), and nothing outside the sandbox may change: a victim file (mode, owner,
times, extended attributes, content), another job's directory, the worker's open descriptors and
its beam's ``id``/``state``. Cases through ctypes' ``syscall()`` reach the kernel (the audit hook
only records the look-up): they also write the errno they got into ``beam.x[0]``, and the kernel's
answer (EPERM from seccomp, EACCES from Landlock) is checked. The x86_64 system call numbers are
from the kernel's ``arch/x86/entry/syscalls/syscall_64.tbl``.

A few of the cases run through the real service in test_sandbox.py (VIOLATIONS)."""

from __future__ import annotations

import errno
import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import fodo_spec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="raw system call numbers are x86_64's"),
]

PREAMBLE = """\
import ctypes, errno, gc, json, os, signal, socket, struct, sys
VICTIM = {victim!r}
OTHER_JOB = {other_job!r}
ARTIFACTS = {artifacts!r}
PARENT = os.getppid()

def raw(nr, *args):
    # a raw system call: the audit hook sees only the look-up of syscall(), the kernel the call
    f = ctypes.CDLL(None, use_errno=True).syscall
    f.restype = ctypes.c_long
    return f(nr, *args)

def note(sim, ret):
    sim.beam.x[0] = ctypes.get_errno() if ret < 0 else 0

def channel():
    return next(o for o in gc.get_objects() if isinstance(o, socket.socket))

def forge(obj=None, data=None):
    data = json.dumps(obj).encode() if data is None else data
    channel().sendall(struct.pack(">I", len(data)) + data)

def after_period(sim):
"""


@dataclass(frozen=True)
class Case:
    body: str
    #: what the job's error must contain
    expect: str
    #: errno the raw call got (written to beam.x[0] by ``note``), or None
    errno: int | None = None


VIOL = "broke the sandbox: "
RAW = VIOL + "a raw system call: ctypes access to the C function syscall()"
FILE = VIOL + "file access outside the scratch directory: "
META = VIOL + "file metadata change: "
NET = VIOL + "network access"
PROC = VIOL + "process creation"
FORGED = VIOL + "a forged reply: "
PROTO = VIOL + "it broke the channel protocol: "
EPERM, EACCES = errno.EPERM, errno.EACCES

CASES: dict[str, Case] = {
    # --- files outside the scratch directory (Landlock) ---------------------------------------
    "read_etc_passwd": Case("open('/etc/passwd').read()", FILE + "open('/etc/passwd', read)"),
    "read_other_job": Case("open(OTHER_JOB, 'rb').read()", FILE + "open("),
    "write_victim": Case("open(VICTIM, 'w').write('x')", FILE + "open("),
    "append_victim": Case("open(VICTIM, 'a').write('x')", FILE + "open("),
    "truncate_victim": Case("os.truncate(VICTIM, 0)", FILE + "os.truncate("),
    "remove_victim": Case("os.remove(VICTIM)", FILE + "os.remove("),
    "rename_out": Case("open('f', 'w').close()\n    os.rename('f', VICTIM)", FILE + "os.rename("),
    "symlink_out": Case("os.symlink('/etc/passwd', 'l')\n    open('l').read()", FILE + "os.symlink('/etc/passwd')"),
    "listdir_root": Case("os.listdir('/')", FILE + "os.listdir('/')"),
    "list_artifact_root": Case("os.listdir(ARTIFACTS)", FILE + "os.listdir("),
    "list_scratch_parent": Case("os.listdir(os.path.dirname(sim.scratch_dir))", FILE + "os.listdir("),
    "ctypes_open": Case("ctypes.CDLL(None).open(b'/etc/shadow', 0)", VIOL + "file access through ctypes"),
    "raw_open_etc": Case("note(sim, raw(2, b'/etc/passwd', 0))", RAW, EACCES),
    "raw_write_victim": Case("note(sim, raw(2, VICTIM.encode(), os.O_WRONLY))", RAW, EACCES),
    "raw_getdents_artifacts": Case("note(sim, raw(2, ARTIFACTS.encode(), os.O_RDONLY | os.O_DIRECTORY))", RAW, EACCES),
    # --- file metadata (item 2: seccomp; Landlock does not cover it) --------------------------
    "chmod_victim": Case("os.chmod(VICTIM, 0o4777)", META + "os.chmod("),
    "chmod_scratch": Case("open('f', 'w').close()\n    os.chmod('f', 0o777)", META + "os.chmod("),
    "ctypes_chmod": Case(
        "ctypes.CDLL(None).chmod(VICTIM.encode(), 0o4777)", META + "ctypes access to the C function chmod()"
    ),
    "raw_chmod": Case("note(sim, raw(90, VICTIM.encode(), 0o4777))", RAW, EPERM),
    "raw_fchmod": Case(
        "open('f', 'w').close()\n    fd = os.open('f', os.O_RDONLY)\n    note(sim, raw(91, fd, 0o777))", RAW, EPERM
    ),
    "raw_fchmodat": Case("note(sim, raw(268, -100, VICTIM.encode(), 0o777, 0))", RAW, EPERM),
    "fchmod_stdlib": Case(
        "import json as j\n    fd = os.open(j.__file__, os.O_RDONLY)\n    note(sim, raw(91, fd, 0o777))", RAW, EPERM
    ),
    "chown_victim": Case("os.chown(VICTIM, 1, 1)", META + "os.chown("),
    "raw_chown": Case("note(sim, raw(92, VICTIM.encode(), 1, 1))", RAW, EPERM),
    "raw_fchownat": Case("note(sim, raw(260, -100, VICTIM.encode(), 1, 1, 0))", RAW, EPERM),
    "utime_victim": Case("os.utime(VICTIM, (0, 0))", META + "os.utime("),
    "raw_utimes": Case("note(sim, raw(235, VICTIM.encode(), None))", RAW, EPERM),
    "raw_utimensat": Case("note(sim, raw(280, -100, VICTIM.encode(), None, 0))", RAW, EPERM),
    "raw_futimesat": Case("note(sim, raw(261, -100, VICTIM.encode(), None))", RAW, EPERM),
    "setxattr_victim": Case("os.setxattr(VICTIM, 'user.x', b'1')", META + "os.setxattr("),
    "raw_setxattr": Case("note(sim, raw(188, VICTIM.encode(), b'user.x', b'1', 1, 0))", RAW, EPERM),
    "raw_lsetxattr": Case("note(sim, raw(189, VICTIM.encode(), b'user.x', b'1', 1, 0))", RAW, EPERM),
    "raw_removexattr": Case("note(sim, raw(197, VICTIM.encode(), b'user.keep'))", RAW, EPERM),
    # --- watching other jobs appear (items 2, 3) ----------------------------------------------
    "ctypes_inotify": Case(
        "libc = ctypes.CDLL(None)\n    fd = libc.inotify_init1(0)\n"
        "    libc.inotify_add_watch(fd, ARTIFACTS.encode(), 0x100)",
        VIOL + "watching files: ctypes access to the C function inotify_init1()",
    ),
    "raw_inotify_init1": Case("note(sim, raw(294, 0))", RAW, EPERM),
    "raw_inotify_init": Case("note(sim, raw(253))", RAW, EPERM),
    "raw_fanotify_init": Case("note(sim, raw(300, 0, 0))", RAW, EPERM),
    "fcntl_setown": Case("import fcntl\n    fcntl.fcntl(1, fcntl.F_SETOWN, PARENT)", VIOL + "fcntl command 8"),
    "raw_fcntl_setsig": Case("note(sim, raw(72, 1, 10, 9))", RAW, EPERM),
    "raw_fcntl_notify": Case("note(sim, raw(72, 1, 1026, 0x80000002))", RAW, EPERM),
    # --- memory outside the memory limit (item 9) ---------------------------------------------
    "os_memfd": Case("os.memfd_create('x')", VIOL + "shared memory outside the memory limit: os.memfd_create"),
    "ctypes_memfd": Case("ctypes.CDLL(None).memfd_create(b'x', 0)", VIOL + "shared memory outside the memory limit"),
    "raw_40_memfds": Case(
        "for _ in range(40):\n        ret = raw(319, b'x', 0)\n"
        "        if ret >= 0:\n            os.ftruncate(ret, 64 << 20)\n"
        "    note(sim, ret)",
        RAW,
        EPERM,
    ),
    "dev_shm": Case("open('/dev/shm/x', 'wb').write(b'x' * 4096)", FILE + "open('/dev/shm/x', write)"),
    "memory_limit": Case("import numpy as np\n    np.ones(2 ** 31 // 8).sum()", "ran out of memory"),
    # --- descriptors passed to the worker (item 9) --------------------------------------------
    "send_fds": Case("socket.send_fds(channel(), [b'x'], [0, 1, 2] * 80)", NET + ": socket.sendmsg"),
    "raw_sendmsg": Case("note(sim, raw(46, channel().fileno(), None, 0))", RAW, EPERM),
    # --- forged replies (item 9) --------------------------------------------------------------
    "forged_20000_emits": Case(
        "forge({'op': 'done', 'emits': [['x', 1.0, sim.tracking_step]] * 20000})",
        FORGED + "20000 emitted values in one call (at most 1000)",
    ),
    "forged_huge_length": Case(
        "channel().sendall(struct.pack('>I', 1 << 31))", PROTO + "message length 2147483648 exceeds 1048576 bytes"
    ),
    "forged_over_limit": Case(
        "channel().sendall(struct.pack('>I', (1 << 20) + 1))", PROTO + "message length 1048577 exceeds 1048576 bytes"
    ),
    "forged_not_json": Case("forge(data=b'\\xff\\xfe not json')", PROTO + "not JSON"),
    "forged_not_object": Case("forge([1, 2, 3])", PROTO + "a message must be a JSON object"),
    "forged_deep": Case("forge(data=b'[' * 100000 + b']' * 100000)", PROTO),
    "forged_nan": Case(
        'forge(data=b\'{"op": "done", "emits": [["x", NaN, 0]]}\')',
        PROTO + "not a valid message: NaN is not a JSON number",
    ),
    "forged_emits_type": Case("forge({'op': 'done', 'emits': {'x': 1}})", FORGED + "'emits' is not a list"),
    "forged_value_type": Case(
        "forge({'op': 'done', 'emits': [['x', 'one', sim.tracking_step]]})",
        FORGED + "emits[0] value is not a finite number or null",
    ),
    "forged_value_bool": Case(
        "forge({'op': 'done', 'emits': [['x', True, sim.tracking_step]]})",
        FORGED + "emits[0] value is not a finite number or null",
    ),
    "forged_huge_float": Case(
        'forge(data=b\'{"op": "done", "emits": [["x", 1e999, 0]]}\')',
        FORGED + "emits[0] value is not a finite number or null",
    ),
    "forged_step": Case(
        "forge({'op': 'done', 'emits': [['x', 1.0, 10 ** 30]]})", FORGED + "emits[0] step is not this call's step"
    ),
    "forged_long_name": Case(
        "forge({'op': 'done', 'emits': [['x' * 5000, 1.0, sim.tracking_step]]})",
        FORGED + "emits[0] name is not a printable string of 1 to 100",
    ),
    "forged_escape_name": Case(
        "forge({'op': 'done', 'emits': [['\\x1b[2J', 1.0, sim.tracking_step]]})",
        FORGED + "emits[0] name is not a printable string",
    ),
    "forged_op": Case("forge({'op': 'ready', 'hooks': []})", FORGED + "answered 'ready' to a call"),
    "forged_escape_error": Case(
        "forge({'op': 'error', 'kind': 'exception', 'type': '\\x1b]0;pwned\\x07X',"
        " 'message': '\\x1b[31mred\\r\\x9b' + 'm' * 100000})",
        "hook 'after_period' raised ]0;pwnedX: [31mred",
    ),
    # --- id / state are read-only (item 9) ----------------------------------------------------
    "id_write": Case("sim.beam.id[0] = 7", "raised ValueError: assignment destination is read-only"),
    "state_writeable_flag": Case(
        "sim.beam.state.flags.writeable = True", "raised ValueError: cannot set WRITEABLE flag"
    ),
    "state_memmove": Case(
        "ctypes.memset(sim.beam.state.ctypes.data, 1, 64)", "the sandbox process ended (signal SIGSEGV)"
    ),
    "state_mprotect": Case(
        "a = sim.beam.state.ctypes.data & ~4095\n    note(sim, raw(10, ctypes.c_void_p(a), 4096, 3))", RAW, EACCES
    ),
    # --- network ------------------------------------------------------------------------------
    "tcp_connect": Case("socket.create_connection(('127.0.0.1', 6379), timeout=1)", NET),
    "udp_sendto": Case(
        "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))", NET + ": socket.__new__"
    ),
    "unix_socket": Case("socket.socket(socket.AF_UNIX).connect('/var/run/redis.sock')", NET),
    "getaddrinfo": Case("socket.getaddrinfo('example.com', 80)", NET + ": socket.getaddrinfo"),
    "raw_socket": Case("note(sim, raw(41, 2, 1, 0))", RAW, EPERM),
    "raw_socketpair": Case("sv = (ctypes.c_int * 2)()\n    note(sim, raw(53, 1, 1, 0, sv))", RAW, EPERM),
    "ctypes_connect": Case("ctypes.CDLL(None).connect(3, None, 0)", NET + ": ctypes access"),
    # --- processes ----------------------------------------------------------------------------
    "fork": Case("os.fork()", PROC + ": os.fork"),
    "fork_bomb": Case("while True:\n        os.fork()", PROC + ": os.fork"),
    "ctypes_vfork": Case("ctypes.CDLL(None).vfork()", PROC + ": ctypes access to the C function vfork()"),
    "raw_vfork": Case("note(sim, raw(58))", RAW, EPERM),
    "raw_fork": Case("note(sim, raw(57))", RAW, EPERM),
    "raw_clone_process": Case("note(sim, raw(56, 17, 0, 0, 0, 0))", RAW, EPERM),
    "execve": Case("os.execv('/bin/sh', ['sh'])", PROC + ": os.exec"),
    "raw_execve": Case("note(sim, raw(59, b'/bin/sh', None, None))", RAW, EPERM),
    "posix_spawn": Case("os.posix_spawn('/bin/true', ['true'], {})", PROC + ": os.posix_spawn"),
    "subprocess": Case("import subprocess\n    subprocess.run(['true'])", PROC + ": subprocess.Popen"),
    "os_system": Case("os.system('true')", PROC + ": os.system"),
    "multiprocessing": Case("import multiprocessing as mp\n    p = mp.Process(target=print)\n    p.start()", PROC),
    # --- other processes ----------------------------------------------------------------------
    "kill_parent": Case("os.kill(PARENT, signal.SIGKILL)", VIOL + "signal to another process: os.kill"),
    "killpg": Case("os.killpg(0, signal.SIGTERM)", VIOL + "signal to another process: os.killpg"),
    "raw_kill_parent": Case("note(sim, raw(62, PARENT, 0))", RAW, EPERM),
    "raw_kill_all": Case("note(sim, raw(62, -1, 0))", RAW, EPERM),
    "raw_tgkill": Case("note(sim, raw(234, PARENT, PARENT, 0))", RAW, EPERM),
    "ctypes_ptrace": Case(
        "ctypes.CDLL(None).ptrace(16, PARENT, 0, 0)",
        VIOL + "touching another process: ctypes access to the C function ptrace()",
    ),
    "raw_ptrace_attach": Case("note(sim, raw(101, 16, PARENT, 0, 0))", RAW, EPERM),
    "raw_process_vm_readv": Case("note(sim, raw(310, PARENT, None, 0, None, 0, 0))", RAW, EPERM),
    "raw_setpriority_parent": Case("note(sim, raw(141, 0, PARENT, 19))", RAW, EPERM),
    "raw_setpriority_user": Case("note(sim, raw(141, 2, 0, 19))", RAW, EPERM),
    "raw_sched_setaffinity": Case(
        "m = ctypes.c_ulong(1)\n    note(sim, raw(203, PARENT, 8, ctypes.byref(m)))", RAW, EPERM
    ),
    "proc_environ": Case("open(f'/proc/{PARENT}/environ', 'rb').read()", FILE + "open('/proc/"),
    "raw_proc_environ": Case("note(sim, raw(2, f'/proc/{PARENT}/environ'.encode(), 0))", RAW, EACCES),
    "proc_self_list": Case("os.listdir('/proc')", FILE + "os.listdir('/proc')"),
    # --- limits and privileges ----------------------------------------------------------------
    "setrlimit": Case(
        "import resource\n    resource.setrlimit(resource.RLIMIT_CPU, (10 ** 6, 10 ** 6))",
        VIOL + "changing a resource limit",
    ),
    "raw_prlimit": Case(
        "lim = (ctypes.c_ulong * 2)(10 ** 6, 10 ** 6)\n    note(sim, raw(302, 0, 0, lim, None))", RAW, EPERM
    ),
    "raw_setrlimit": Case("lim = (ctypes.c_ulong * 2)(10 ** 6, 10 ** 6)\n    note(sim, raw(160, 0, lim))", RAW, EPERM),
    "raw_unshare": Case("note(sim, raw(272, 0x10000000))", RAW, EPERM),
    "raw_setns": Case("note(sim, raw(308, 0, 0))", RAW, EPERM),
    "raw_mount": Case("note(sim, raw(165, b'none', b'/tmp', b'tmpfs', 0, None))", RAW, EPERM),
    "raw_chroot": Case("note(sim, raw(161, b'.'))", RAW, EPERM),
    "raw_setuid": Case("note(sim, raw(105, 0))", RAW, EPERM),
    "raw_personality": Case("note(sim, raw(135, 0x0040000))", RAW, EPERM),
    "raw_io_uring": Case("p = (ctypes.c_char * 120)()\n    note(sim, raw(425, 8, p))", RAW, EPERM),
    "raw_bpf": Case("note(sim, raw(321, 0, None, 0))", RAW, EPERM),
    "raw_keyctl": Case("note(sim, raw(250, 0, 0))", RAW, EPERM),
    "raw_userfaultfd": Case("note(sim, raw(323, 0))", RAW, EPERM),
    "raw_perf_event_open": Case("note(sim, raw(298, None, 0, -1, -1, 0))", RAW, EPERM),
    # --- exhaustion ---------------------------------------------------------------------------
    # 0.3 s of CPU: reached within the 3 s wall limit even when the sandbox gets a tenth of a core
    "cpu": Case("while True:\n        pass", "ran out of CPU time: the sandbox's limit is 0.3 s per job"),
    "wall": Case("import time\n    time.sleep(3600)", "ran past the wall-time limit of 3 s"),
    "thread_bomb": Case(
        "import threading, time\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
        "raised RuntimeError: can't start new thread",
    ),
    "big_file": Case("open('big', 'wb').write(b'x' * (8 << 20))", "raised OSError: [Errno 27] File too large"),
    "too_many_emits": Case(
        "for i in range(1001):\n        sim.emit('x', i)",
        "raised RuntimeError: emit: at most 1000 values per hook call",
    ),
    # --- what reaches job errors --------------------------------------------------------------
    "escape_in_exception": Case(
        "raise ValueError('\\x1b[2J\\x1b]0;owned\\x07\\rdone')", "raised ValueError: [2J]0;owneddone"
    ),
    "escape_in_type_name": Case("raise type('\\x1b[31mBad', (Exception,), {})('x')", "raised [31mBad: x"),
    "escape_in_output": Case(
        "sys.stdout.write('\\x1b[2Jgone\\n')\n    sys.stdout.flush()\n    os._exit(3)",
        "the sandbox process ended (exit status 3); its output ends with:\n[2Jgone",
    ),
    "hostile_str": Case(
        "class E(Exception):\n        def __str__(self):\n            raise RuntimeError\n    raise E()",
        "hook 'after_period' raised E: ?",
    ),
}
LIMITS = {"cpu_s": 1.0, "wall_s": 3.0, "memory_mb": 256.0, "fsize_mb": 4.0}


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("escapes")
    victim = root / "victim.txt"
    victim.write_text("secret\n")
    victim.chmod(0o600)
    os.setxattr(victim, "user.keep", b"1")
    other = root / "artifacts" / "0123456789abcdef" / "diags" / "monitor.h5"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"other user's results")
    return {"root": root, "victim": victim, "other": other, "artifacts": root / "artifacts"}


def _snapshot(area: dict[str, Path]) -> Any:
    st = area["victim"].stat()
    return (
        st.st_mode,
        st.st_uid,
        st.st_gid,
        st.st_mtime_ns,
        st.st_size,
        area["victim"].read_text(),
        sorted(os.listxattr(area["victim"])),
        sorted(str(p) for p in area["artifacts"].rglob("*")),
        area["other"].read_bytes(),
    )


def run_hook(body: str, area: dict[str, Path], tmp_path: Path) -> tuple[str, Any]:
    """Track a small FODO with the hook; returns (the job's error, or "" if it succeeded, the sim)."""
    from beamtrack.engine import Simulation
    from beamtrack.workers.runner import _hook_error
    from beamtrack.workers.sandbox.supervisor import HookSandbox, SandboxLimits

    source = (
        PREAMBLE.format(victim=str(area["victim"]), other_job=str(area["other"]), artifacts=str(area["artifacts"]))
        + "    "
        + body
        + "\n"
    )
    sim = Simulation.from_spec(fodo_spec(npart=64), tmp_path, kind="serial")
    ids, state = sim.beam.id.copy(), sim.beam.state.copy()
    sim.beam.real[0][0] = -1.0
    try:
        limits = {**LIMITS, "cpu_s": 0.3} if "while True:\n        pass" in source else LIMITS
        with HookSandbox(source, limits=SandboxLimits(**limits)) as box:
            box.start(sim)
            sim.track_particles()
            error = ""
    except Exception as exc:  # noqa: BLE001 - the job's error, as the runner records it
        error = _hook_error(exc)
    finally:
        sim.finalize()
    assert (sim.beam.id == ids).all() and (sim.beam.state == state).all(), "id/state changed"
    return error, sim


@pytest.mark.parametrize("name", sorted(CASES))
def test_escape_attempt_fails_its_job(name: str, area: dict[str, Path], tmp_path: Path) -> None:
    case = CASES[name]
    before, fds = _snapshot(area), _fds()
    error, sim = run_hook(case.body, area, tmp_path)
    assert case.expect in error, (name, error)
    # the job error is one clean text: no terminal escapes, no carriage returns, bounded
    assert not any(c in error for c in "\x1b\r\x07\x9b"), repr(error)
    assert len(error) < 12_000
    if case.errno is not None:
        assert sim.beam.real[0][0] == case.errno, (name, errno.errorcode.get(int(sim.beam.real[0][0])))
    assert _snapshot(area) == before, f"{name} changed something outside the sandbox"
    # other threads of the test process may open or close a few; a leak per attempt (fd passing
    # drove the worker to 20,000) shows as hundreds
    assert _fds() <= fds + 4, "the worker's open descriptors grew"


def test_no_path_the_sandbox_sees_names_another_job(area: dict[str, Path], tmp_path: Path) -> None:
    """Item 3: the scratch directory is a random name in a per-worker directory the sandbox
    cannot list, and the environment names neither the token nor other jobs."""
    os.environ["BEAMTRACK_TOKEN_UNDER_TEST"] = "s3cret-token"
    try:
        body = (
            "names = [os.path.basename(str(sim.scratch_dir))] + list(os.environ) + list(os.environ.values())\n"
            "    sim.beam.x[1] = any('s3cret' in n or '0123456789abcdef' in n for n in names)\n"
            "    sim.beam.x[2] = len(os.listdir(sim.scratch_dir))\n"
            "    sim.beam.x[3] = sum(os.path.basename(ARTIFACTS) in n for n in names)"
        )
        error, sim = run_hook(body, area, tmp_path)
    finally:
        del os.environ["BEAMTRACK_TOKEN_UNDER_TEST"]
    assert error == ""
    assert sim.beam.real[0][1:4].tolist() == [0.0, 0.0, 0.0]


def test_worker_drops_descriptors_passed_over_the_channel() -> None:
    """Item 9: even if a sandbox could send SCM_RIGHTS (its seccomp filter refuses sendmsg), the
    worker's receiver reads without ancillary data, so the kernel closes what was sent."""
    from beamtrack.workers.sandbox.channel import Receiver, send_msg

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        before = _fds()
        for _ in range(50):
            send_msg(b, {"op": "done", "emits": []}, fds=[0, 1, 2, 0, 1, 2])
        rx = Receiver(a)
        for _ in range(50):
            msg, fds = rx.recv()
            assert msg["op"] == "done" and fds == []
        assert _fds() == before
    finally:
        a.close()
        b.close()


def test_stale_scratch_dirs_of_dead_workers_are_removed(tmp_path: Path) -> None:
    """Item 9: a worker killed mid-job leaves its scratch directories; the next worker process
    to start a sandbox removes those of every worker that no longer runs, and keeps live ones."""
    from beamtrack.workers.sandbox import supervisor

    base = tmp_path / f"beamtrack-hooks-{os.getuid()}"
    dead = base / "w999999999-12345" / "abcd"  # no such pid
    reused = base / f"w{os.getppid()}-1" / "efgh"  # a live pid, but another process's start time
    live = base / f"w{os.getppid()}-{supervisor._start_ticks(os.getppid())}" / "ijkl"
    for d in (dead, reused, live):
        d.mkdir(parents=True)
        (d / "f").write_text("x")
    supervisor.worker_scratch_dir.cache_clear()
    try:
        mine = supervisor.worker_scratch_dir(str(tmp_path))
    finally:
        supervisor.worker_scratch_dir.cache_clear()
    assert not dead.parent.exists() and not reused.parent.exists()
    assert live.exists() and Path(mine).is_dir() and Path(mine).parent == base
    assert base.stat().st_mode & 0o777 == 0o700


def test_the_worker_carries_on_after_the_escapes(area: dict[str, Path], tmp_path: Path) -> None:
    """After every case above (module order), a well-behaved hook in the same worker runs."""
    error, sim = run_hook("sim.emit('ok', 1.0)\n    sim.beam.x[0] = 42.0", area, tmp_path)
    assert error == "" and sim.beam.real[0][0] == 42.0
