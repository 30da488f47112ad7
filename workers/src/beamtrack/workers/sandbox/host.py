"""The sandboxed hook host: ``python -I -B -m beamtrack.workers.sandbox.host FD PARENT_PID``.

Started by :class:`~beamtrack.workers.sandbox.supervisor.HookSandbox` with one end of a socket
pair at descriptor FD. It receives the hook module and the memfd of the particle block, maps the
block, imports NumPy, then locks itself in (rlimits, no_new_privs, no capabilities, Landlock,
seccomp, an audit hook that names violations) *before* running any uploaded code, and serves
hook calls until the worker says exit or goes away.
"""

from __future__ import annotations

import linecache
import math
import mmap
import os
import resource
import signal
import socket
import sys
import sysconfig
import traceback
import types
from pathlib import Path
from typing import Any

import numpy as np

from . import kernel
from .channel import ChannelClosed, Receiver, send_msg
from .layout import HOOK_NAMES, REAL_ROWS, beam_views

MODULE_NAME = "<hook_module>"
MAX_EMITS_PER_CALL = 1000
MAX_NAME = 100
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def python_read_paths() -> list[str]:
    """What the sandbox may read: this Python's standard library and site-packages (NumPy and
    whatever else is installed there, so hooks can import them), and /dev/null, /dev/urandom."""
    paths = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(os.path.dirname(os.path.dirname(np.__file__)))
    paths.update(p for p in sys.path if p.endswith(("site-packages", "lib-dynload")))
    paths.add(os.path.dirname(os.path.abspath(__file__)))  # this package, for tracebacks
    paths.update(("/dev/null", "/dev/urandom"))
    return sorted(p for p in paths if p and os.path.exists(p))


class Violation(PermissionError):
    """Raised into the hook by the audit hook; the host also reports it when the hook catches it."""


class Guard:
    """Python audit hook naming what the kernel rules deny. The kernel (Landlock, seccomp) is the
    boundary; this only makes the first attempt fatal and the job's error message precise."""

    def __init__(self, read_roots: list[str], write_roots: list[str]):
        self.read_roots = [os.path.realpath(p) for p in read_roots]
        self.write_roots = [os.path.realpath(p) for p in write_roots]
        self.violation: str | None = None
        self.pid = os.getpid()

    @staticmethod
    def _under(path: str, roots: list[str]) -> bool:
        return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

    def _path_ok(self, raw: Any, write: bool) -> tuple[bool, str]:
        if isinstance(raw, int) or raw is None:
            return True, ""
        try:
            path = os.path.realpath(os.fsdecode(os.fspath(raw)))
        except (TypeError, ValueError):
            return True, ""
        if write:
            return self._under(path, self.write_roots), path
        return self._under(path, self.read_roots + self.write_roots), path

    def deny(self, what: str) -> None:
        if self.violation is None:
            self.violation = what
        raise Violation(f"denied by the hook sandbox: {what}")

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            write = any(c in mode for c in "wax+") if isinstance(mode, str) else \
                bool((flags or 0) & _WRITE_FLAGS)
            ok, real = self._path_ok(path, write)
            if not ok:
                self.deny(f"file access outside the scratch directory: "
                          f"open({real!r}, {'write' if write else 'read'})")
        elif event in ("os.listdir", "os.scandir"):
            ok, real = self._path_ok(args[0] if args else None, False)
            if not ok:
                self.deny(f"file access outside the scratch directory: {event}({real!r})")
        elif event in _FS_WRITE_EVENTS:
            for raw in args[:2] if event in ("os.rename", "os.link", "os.symlink") else args[:1]:
                ok, real = self._path_ok(raw, True)
                if not ok:
                    self.deny(f"file access outside the scratch directory: {event}({real!r})")
        elif event in _NET_EVENTS:
            self.deny(f"network access: {event}{_short(args)}")
        elif event in _PROC_EVENTS:
            self.deny(f"process creation: {event}{_short(args)}")
        elif event in ("os.kill", "os.killpg") and not (args and args[0] == self.pid):
            self.deny(f"signal to another process: {event}{_short(args)}")
        elif event == "resource.setrlimit" or (event == "resource.prlimit" and len(args) > 2):
            self.deny(f"changing a resource limit: {event}{_short(args)}")


_FS_WRITE_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink",
                    "os.truncate", "os.chmod", "os.chown", "os.utime")
_NET_EVENTS = ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
               "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
               "socket.sendto", "socket.sendmsg")
_PROC_EVENTS = ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn",
                "subprocess.Popen", "os.system", "pty.spawn")
_WATCHED = frozenset(("open", "os.listdir", "os.scandir", "os.kill", "os.killpg",
                      "resource.setrlimit", "resource.prlimit", *_FS_WRITE_EVENTS, *_NET_EVENTS,
                      *_PROC_EVENTS))


def _short(args: tuple[Any, ...]) -> str:
    text = repr(tuple(args))
    return text if len(text) <= 200 else text[:197] + "...)"


class Reference:
    """The reference particle at the hook call (read-only): s [m], beta, gamma, beta_gamma, x, y,
    z, t [m], px, py, pz, pt [1] (ImpactX's), mass [kg], charge [C]."""

    def __init__(self, values: dict[str, float]):
        self.__dict__.update({k: float(v) for k, v in values.items()})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the reference particle is read-only in a sandboxed hook")


class Beam:
    """The particles, as NumPy views of the shared block (no copies: writes to x ... pt and
    weight land in the worker's beam). ``id`` and ``state`` (0 = alive) are read-only."""

    def __init__(self, views: dict[str, np.ndarray]):
        self.real = views["real"]
        self.id = views["id"]
        self.state = views["state"]
        self.id.flags.writeable = False
        self.state.flags.writeable = False
        for i, name in enumerate(REAL_ROWS):
            setattr(self, name, self.real[i])

    @property
    def size(self) -> int:
        """Macroparticles held, lost ones included."""
        return int(self.real.shape[1])

    def total_number_of_particles(self, include_lost: bool = False) -> int:
        return self.size if include_lost else int((self.state == 0).sum())

    def arrays(self) -> dict[str, np.ndarray]:
        """Views keyed by ImpactX's names (position_x, ..., momentum_t, weighting, id, state),
        as ``sim.beam.arrays()`` of the engine."""
        names = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y",
                 "momentum_t", "weighting")
        out = {n: self.real[i] for i, n in enumerate(names)}
        out["id"] = self.id
        out["state"] = self.state
        return out


class Sim:
    """What a sandboxed hook receives as ``sim``: the tracking position, the reference particle,
    the beam, its scratch directory, and ``emit`` for custom values."""

    def __init__(self, beam: Beam, scratch: Path):
        self.beam = beam
        self.scratch_dir = scratch
        self.hook = ""
        self.tracking_step = 0
        self.tracking_period = 0
        self.tracking_element = 0
        self.reference = Reference({})
        self._emits: list[list[Any]] = []

    def emit(self, name: str, value: float) -> None:
        """Publish ``value`` (a real number) as custom value ``name`` on the job's stream."""
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
            raise ValueError(f"emit: name must be a string of 1 to {MAX_NAME} characters")
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"emit: value must be a real number, not {type(value).__name__}")
        if len(self._emits) >= MAX_EMITS_PER_CALL:
            raise RuntimeError(f"emit: at most {MAX_EMITS_PER_CALL} values per hook call")
        v = float(value)
        self._emits.append([name, v if math.isfinite(v) else None, self.tracking_step])


def _limit(res: int, soft: int) -> None:
    resource.setrlimit(res, (soft, soft))


def lock_down(scratch: str, limits: dict[str, float], guard: Guard) -> None:
    """Apply every restriction, in the order that lets each be set up: rlimits (while we may),
    no_new_privs, capabilities, Landlock, seccomp (which forbids setrlimit and capset), audit."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    used = ru.ru_utime + ru.ru_stime
    cpu = int(math.ceil(used + float(limits["cpu_s"])))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    vm = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                vm = int(line.split()[1]) * 1024
    _limit(resource.RLIMIT_AS, vm + int(limits["memory_mb"] * 2**20))
    _limit(resource.RLIMIT_FSIZE, int(limits["fsize_mb"] * 2**20))
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, 64)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with EFBIG instead
    kernel.seccomp_available()  # loads libseccomp while the system libraries are still readable
    kernel.set_no_new_privs()
    kernel.drop_capabilities()
    kernel.landlock_restrict(python_read_paths(), [scratch])
    kernel.seccomp_restrict()
    sys.addaudithook(guard)


def _error(kind: str, hook: str, exc: BaseException, guard: Guard) -> dict[str, Any]:
    # only the module's own frames, whose source is in linecache already: reading other files
    # for a traceback would itself be file access
    frames = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    text = "".join(traceback.format_list([f for f in frames if f.filename == MODULE_NAME]))
    return {"op": "error", "kind": kind, "hook": hook, "type": type(exc).__name__,
            "message": str(exc)[:2000], "traceback": text[-4000:],
            "violation": guard.violation}


def serve(sock: socket.socket) -> int:
    rx = Receiver(sock)
    msg, fds = rx.recv()
    if msg["op"] != "init" or len(fds) != 1:
        return 2
    scratch = msg["scratch"]
    os.chdir(scratch)
    mm = mmap.mmap(fds[0], 0)
    os.close(fds[0])
    sim = Sim(Beam(beam_views(mm, int(msg["n"]))), Path(scratch))
    guard = Guard(python_read_paths(), [scratch])
    lock_down(scratch, msg["limits"], guard)

    source = str(msg["source"])
    linecache.cache[MODULE_NAME] = (len(source), None, source.splitlines(True), MODULE_NAME)
    module = types.ModuleType("hook_module")
    module.__file__ = MODULE_NAME
    try:
        exec(compile(source, MODULE_NAME, "exec"), module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - reported to the worker, which fails the job
        send_msg(sock, _error("load", "", exc, guard))
        return 0
    hooks = {n: getattr(module, n) for n in HOOK_NAMES if callable(getattr(module, n, None))}
    if guard.violation:
        send_msg(sock, {"op": "violation", "hook": "", "what": guard.violation})
        return 0
    send_msg(sock, {"op": "ready", "hooks": sorted(hooks)})

    while True:
        try:
            msg, fds = rx.recv()
        except ChannelClosed:
            return 0
        op = msg["op"]
        if op == "exit":
            return 0
        if op == "remap":
            mm = mmap.mmap(fds[0], 0)
            os.close(fds[0])
            sim.beam = Beam(beam_views(mm, int(msg["n"])))
            send_msg(sock, {"op": "ok"})
            continue
        name = str(msg["hook"])
        sim.hook = name
        sim.tracking_step = int(msg["step"])
        sim.tracking_period = int(msg["period"])
        sim.tracking_element = int(msg["element"])
        sim.reference = Reference(msg["ref"])
        sim._emits = []
        try:
            hooks[name](sim)
        except MemoryError as exc:
            send_msg(sock, _error("memory", name, exc, guard))
            continue
        except BaseException as exc:  # noqa: BLE001 - reported, the worker fails the job
            send_msg(sock, _error("exception", name, exc, guard))
            continue
        if guard.violation:
            send_msg(sock, {"op": "violation", "hook": name, "what": guard.violation})
            continue
        send_msg(sock, {"op": "done", "emits": sim._emits})


def main(argv: list[str]) -> int:
    fd, parent = int(argv[1]), int(argv[2])
    if os.getppid() != parent:
        return 3  # the worker is already gone
    sock = socket.socket(fileno=fd)
    try:
        return serve(sock)
    except kernel.SandboxSetupError as exc:
        send_msg(sock, {"op": "setup_failed", "message": str(exc)})
        return 4
    except ChannelClosed:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
