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
import threading
import time
import traceback
import types
from pathlib import Path
from typing import Any

import numpy as np

from . import confinement
from .channel import ChannelClosed, Receiver, send_msg
from .layout import HOOK_NAMES, PROGRAMMABLE_DICT, PROGRAMMABLE_FUNCTIONS, REAL_ROWS, beam_views

MODULE_NAME = "<hook_module>"
MAX_EMITS_PER_CALL = 1000
MAX_NAME = 100
#: Reference-particle fields a Programmable element's ref_particle / push may change.
REF_STATE = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def system_library_dirs() -> set[str]:
    """The directories the dynamic loader takes system libraries from (Debian's multiarch
    ``/lib/<triplet>`` and ``/usr/lib/<triplet>``, ``/lib64``) and those of every shared object this
    process has mapped: an extension module such as PyTorch's dlopens ``libdl.so.2`` or
    ``libgomp`` from there. Public files; nothing in them names a job or a secret."""
    dirs = {"/lib64"}
    triplet = sysconfig.get_config_var("MULTIARCH")
    if triplet:
        dirs.update((f"/lib/{triplet}", f"/usr/lib/{triplet}"))
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split(maxsplit=5)[-1].strip() if line.count(" ") >= 5 else ""
                if path.startswith("/") and ".so" in os.path.basename(path):
                    dirs.add(os.path.dirname(path))
    except OSError:
        pass
    return dirs


def python_read_paths() -> list[str]:
    """What the sandbox may read: this Python's standard library and site-packages (NumPy and
    whatever else is installed there, so hooks can import them), the system library directories
    (``system_library_dirs``), its own ``/proc/<pid>``, the CPU's description (``/proc/cpuinfo``,
    ``/sys/devices/system/cpu``), and /dev/null, /dev/urandom."""
    paths = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(os.path.dirname(os.path.dirname(np.__file__)))
    paths.update(p for p in sys.path if p.endswith(("site-packages", "lib-dynload")))
    # the other import roots (editable installs' src folders): importers list them
    paths.update(p for p in sys.path if os.path.isabs(p) and os.path.isdir(p) and p != "/")
    paths.add(os.path.dirname(os.path.abspath(__file__)))  # this package, for tracebacks
    paths.update(system_library_dirs())
    # its own /proc entry (PyTorch reads its maps); other processes' stay unreadable
    paths.add(f"/proc/{os.getpid()}")
    # what the CPU is (numerical libraries pick their SIMD code from it)
    paths.update(("/proc/cpuinfo", "/sys/devices/system/cpu"))
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
            write = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
            ok, real = self._path_ok(path, write)
            if not ok:
                self.deny(f"file access outside the scratch directory: open({real!r}, {'write' if write else 'read'})")
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
        elif event in _META_EVENTS:
            self.deny(f"file metadata change: {event}{_short(args[:2])}")
        elif event == "fcntl.fcntl" and len(args) > 1 and args[1] in confinement.DENIED_FCNTL:
            self.deny(f"fcntl command {args[1]} (signals, leases or directory notification)")
        elif event == "ctypes.dlsym" and len(args) > 1 and isinstance(args[1], str):
            what = _DENIED_SYMBOLS.get(args[1])
            if what is not None:
                message = f"{what}: ctypes access to the C function {args[1]}()"
                if args[1] == "syscall":
                    # recorded, not raised: the kernel refuses what the raw call asks for, and
                    # the job fails after the call
                    if self.violation is None:
                        self.violation = message
                else:
                    self.deny(message)


_FS_WRITE_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink", "os.truncate")
#: refused everywhere, scratch directory included (the kernel refuses them: see confinement.py)
_META_EVENTS = ("os.chmod", "os.chown", "os.utime", "os.setxattr", "os.removexattr", "os.chflags", "os.lchflags")
_NET_EVENTS = (
    "socket.__new__",
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "socket.sendto",
    "socket.sendmsg",
)
_PROC_EVENTS = (
    "os.fork",
    "os.forkpty",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "os.system",
    "pty.spawn",
)


def _symbols(what: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), what)


#: C functions a hook may not look up through ctypes, and the violation each is.
_DENIED_SYMBOLS = {
    **_symbols(
        "file metadata change",
        "chmod fchmod fchmodat lchmod chown fchown lchown fchownat "
        "utime utimes lutimes futimes futimens utimensat futimesat setxattr lsetxattr "
        "fsetxattr removexattr lremovexattr fremovexattr",
    ),
    **_symbols(
        "file access through ctypes (Python's open and os functions are checked)",
        "open open64 openat openat64 creat creat64 fopen fopen64 freopen opendir rename "
        "renameat renameat2 link linkat symlink symlinkat unlink unlinkat mkdir mkdirat "
        "rmdir truncate truncate64 ftruncate ftruncate64",
    ),
    **_symbols("watching files", "inotify_init inotify_init1 inotify_add_watch fanotify_init fanotify_mark"),
    **_symbols("shared memory outside the memory limit", "memfd_create shm_open"),
    **_symbols(
        "network access",
        "socket socketpair connect bind listen accept accept4 sendmsg "
        "sendmmsg getaddrinfo gethostbyname gethostbyname2 gethostbyaddr",
    ),
    **_symbols(
        "process creation",
        "fork vfork _Fork clone clone3 execve execv execvp execvpe "
        "execl execlp execle fexecve posix_spawn posix_spawnp system popen daemon",
    ),
    **_symbols(
        "touching another process",
        "ptrace kill tkill tgkill killpg sigqueue "
        "process_vm_readv process_vm_writev pidfd_open pidfd_send_signal setpriority "
        "sched_setaffinity sched_setscheduler",
    ),
    **_symbols("changing a resource limit", "setrlimit setrlimit64 prlimit prlimit64"),
    **_symbols(
        "privileged operation",
        "unshare setns mount umount umount2 pivot_root chroot "
        "personality bpf keyctl add_key request_key io_uring_setup io_uring_enter "
        "setuid setgid seteuid setegid setreuid setregid setresuid setresgid setgroups "
        "capset mknod mknodat",
    ),
    "syscall": "a raw system call",
}
_WATCHED = frozenset(
    (
        "open",
        "os.listdir",
        "os.scandir",
        "os.kill",
        "os.killpg",
        "resource.setrlimit",
        "resource.prlimit",
        "fcntl.fcntl",
        "ctypes.dlsym",
        *_FS_WRITE_EVENTS,
        *_META_EVENTS,
        *_NET_EVENTS,
        *_PROC_EVENTS,
    )
)


def _short(args: tuple[Any, ...]) -> str:
    text = repr(tuple(args))
    return text if len(text) <= 200 else text[:197] + "...)"


class Reference:
    """The reference particle at the hook call: s [m], beta, gamma, beta_gamma, x, y, z, t [m],
    px, py, pz, pt [1] (ImpactX's), mass [kg], charge [C]. Read-only in hooks; a Programmable
    element's ``ref_particle`` and ``push`` may set s, x, y, z, t, px, py, pz and pt (beta, gamma
    and beta_gamma follow pt), which go back to the worker's reference particle."""

    _writable: bool

    def __init__(self, values: dict[str, Any], writable: bool = False):
        object.__setattr__(self, "_writable", writable)
        self.__dict__.update({k: float(v) for k, v in values.items() if isinstance(v, int | float)})

    def __setattr__(self, name: str, value: Any) -> None:
        if not self._writable:
            raise AttributeError("the reference particle is read-only in a sandboxed hook")
        if name not in REF_STATE:
            raise AttributeError(f"reference particle: {name!r} cannot be set (settable: {', '.join(REF_STATE)})")
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"reference particle: {name} must be finite, not {v}")
        self.__dict__[name] = v
        if name == "pt":
            gamma = -v
            self.__dict__["gamma"] = gamma
            bg = math.sqrt(max(gamma * gamma - 1.0, 0.0))
            self.__dict__["beta_gamma"] = bg
            self.__dict__["beta"] = bg / gamma if gamma else 0.0

    def state(self) -> dict[str, float]:
        return {k: self.__dict__[k] for k in REF_STATE if k in self.__dict__}


class Beam:
    """The particles, as NumPy views of the shared blocks (no copies: writes to x ... pt and
    weight land in the worker's beam). ``id`` and ``state`` (0 = alive) are read-only: their
    block is mapped read-only, so not even a writeable flag or ctypes can change them."""

    def __init__(self, views: dict[str, np.ndarray]):
        self.real = views["real"]
        self.id = views["id"]
        self.state = views["state"]
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
        names = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t", "weighting")
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
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or not name.isprintable():
            raise ValueError(f"emit: name must be a string of 1 to {MAX_NAME} printable characters")
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
    confinement.seccomp_available()  # loads libseccomp while the system libraries are still readable
    confinement.set_no_new_privs()
    confinement.drop_capabilities()
    confinement.landlock_restrict(python_read_paths(), [scratch])
    confinement.seccomp_restrict()
    sys.addaudithook(guard)

    # os.memfd_create has no audit event: name the violation before the kernel refuses it
    def memfd_create(*args: Any, **kwargs: Any) -> int:
        guard.deny("shared memory outside the memory limit: os.memfd_create")
        raise AssertionError  # deny raised

    os.memfd_create = memfd_create  # type: ignore[assignment]
    import posix

    posix.memfd_create = memfd_create  # type: ignore[attr-defined]


def _text(fn: Any, limit: int) -> str:
    try:
        text = fn()
        return text[:limit] if isinstance(text, str) else "?"
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not take the host down
        return "?"


def _error(kind: str, hook: str, exc: BaseException, guard: Guard) -> dict[str, Any]:
    # only the module's own frames, whose source is in linecache already: reading other files
    # for a traceback would itself be file access
    try:
        frames = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
        text = "".join(traceback.format_list([f for f in frames if f.filename == MODULE_NAME]))
    except BaseException:  # noqa: BLE001
        text = ""
    return {
        "op": "error",
        "kind": kind,
        "hook": hook,
        "type": _text(lambda: type(exc).__name__, 200),
        "message": _text(lambda: str(exc), 2000),
        "traceback": text[-4000:],
        "violation": guard.violation,
    }


def _map(fds: list[int], n: int) -> Beam:
    """The beam over the two blocks: real read-write, meta (id, state) read-only."""
    real = mmap.mmap(fds[0], 0)
    meta = mmap.mmap(fds[1], 0, prot=mmap.PROT_READ)
    for fd in fds:
        os.close(fd)
    return Beam(beam_views(real, meta, n))


def _programmable(module: types.ModuleType) -> dict[str, dict[str, Any]]:
    """The module's ``programmable`` dict, checked: element name -> {function name: callable}."""
    table = getattr(module, PROGRAMMABLE_DICT, None)
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise TypeError(
            f"{PROGRAMMABLE_DICT} must be a dict of element name -> dict of functions, not {type(table).__name__}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name, fns in table.items():
        if not isinstance(name, str) or not isinstance(fns, dict):
            raise TypeError(f"{PROGRAMMABLE_DICT}[{name!r}] must map an element name (str) to a dict of functions")
        for fn_name, fn in fns.items():
            if fn_name not in PROGRAMMABLE_FUNCTIONS or not callable(fn):
                raise TypeError(
                    f"{PROGRAMMABLE_DICT}[{name!r}][{fn_name!r}] must be one of "
                    f"{', '.join(PROGRAMMABLE_FUNCTIONS)} and callable"
                )
        out[name] = dict(fns)
    return out


def serve(sock: socket.socket) -> int:
    rx = Receiver(sock, accept_fds=True)
    msg, fds = rx.recv()
    if msg["op"] != "init" or len(fds) != 2:
        return 2
    scratch = msg["scratch"]
    os.chdir(scratch)
    sim = Sim(_map(fds, int(msg["n"])), Path(scratch))
    guard = Guard(python_read_paths(), [scratch])
    lock_down(scratch, msg["limits"], guard)

    source = str(msg["source"])
    linecache.cache[MODULE_NAME] = (len(source), None, source.splitlines(True), MODULE_NAME)
    module = types.ModuleType("hook_module")
    module.__file__ = MODULE_NAME
    try:
        exec(compile(source, MODULE_NAME, "exec"), module.__dict__)
        hooks = {n: getattr(module, n) for n in HOOK_NAMES if callable(getattr(module, n, None))}
        elements = _programmable(module)
    except BaseException as exc:  # noqa: BLE001 - reported to the worker, which fails the job
        send_msg(sock, _error("load", "", exc, guard))
        return 0
    if guard.violation:
        send_msg(sock, {"op": "violation", "hook": "", "what": guard.violation})
        return 0
    send_msg(sock, {"op": "ready", "hooks": sorted(hooks), "programmable": {k: sorted(v) for k, v in elements.items()}})

    while True:
        try:
            msg, fds = rx.recv()
        except ChannelClosed:
            return 0
        op = msg["op"]
        if op == "exit":
            return 0
        if op == "remap":
            sim.beam = _map(fds, int(msg["n"]))
            send_msg(sock, {"op": "ok"})
            continue
        name = str(msg["hook"])
        sim.hook = name
        sim.tracking_step = int(msg["step"])
        sim.tracking_period = int(msg["period"])
        sim.tracking_element = int(msg["element"])
        element = msg.get("programmable")
        sim.reference = ref = Reference(msg["ref"], writable=element is not None and name != "beam_particles")
        sim._emits = []
        try:
            if element is None:
                hooks[name](sim)
            elif name == "beam_particles":
                elements[element][name](sim.beam.arrays(), ref)
            elif name == "ref_particle":
                elements[element][name](ref)
            else:
                elements[element][name](sim, sim.tracking_step, sim.tracking_period)
        except MemoryError as exc:
            send_msg(sock, _error("memory", name, exc, guard))
            continue
        except BaseException as exc:  # noqa: BLE001 - reported, the worker fails the job
            send_msg(sock, _error("exception", name, exc, guard))
            continue
        if guard.violation:
            send_msg(sock, {"op": "violation", "hook": name, "what": guard.violation})
            continue
        reply: dict[str, Any] = {"op": "done", "emits": sim._emits}
        if element is not None and name != "beam_particles":
            reply["ref"] = ref.state()
        send_msg(sock, reply)


def _watch_parent(parent: int) -> None:
    """Ends this process when the worker is gone (killed, say, while a hook sleeps): a daemon
    thread that looks at the parent pid once a second."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    fd, parent = int(argv[1]), int(argv[2])
    if os.getppid() != parent:
        return 3  # the worker is already gone
    _watch_parent(parent)
    sock = socket.socket(fileno=fd)
    try:
        return serve(sock)
    except confinement.SandboxSetupError as exc:
        send_msg(sock, {"op": "setup_failed", "message": str(exc)})
        return 4
    except ChannelClosed:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
