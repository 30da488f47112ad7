"""HookSandbox: the worker's side of a sandboxed hook module.

It moves the engine's particle block into a memfd both processes map (the engine keeps tracking
on the same pages, so a hook call copies nothing), starts the host process
(:mod:`beamtrack.workers.sandbox.host`), and installs one proxy per hook the module defines into
``sim.hook``: a proxy sends the tracking position and the reference particle, waits for the reply
(at most ``wall_s``), publishes the values the hook emitted, and raises a
:class:`~beamtrack.workers.sandbox.errors.SandboxError` naming the hook and the reason when the
hook failed, broke a rule or a limit. A beam that is not a NumPy array in this process (CUDA) is
copied into the block before and out of it after each call.
"""

from __future__ import annotations

import fcntl
import functools
import math
import mmap
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from .channel import ChannelClosed, ChannelTimeout, ProtocolError, Receiver, clean_text, send_msg
from .errors import HookFailed, SandboxError, SandboxLimitExceeded, SandboxUnavailable, SandboxViolation
from .layout import HOOK_NAMES, PROGRAMMABLE_DICT, PROGRAMMABLE_FUNCTIONS, beam_views, block_sizes
from .support import sandbox_unsupported

#: What one hook call may send back: emitted values per call, characters of a value's name.
MAX_EMITS_PER_CALL = 1000
MAX_NAME = 100
#: Longest text from the sandbox kept in a job's error: message, traceback, output tail.
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 4000
#: Reference-particle fields a Programmable element's ref_particle / push may set.
REF_STATE = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")

#: Called with (name, value or None for NaN/inf, tracking step) for each emitted value.
EmitFn = Callable[[str, float | None, int], Any]


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one job's hook sandbox."""

    #: CPU time of the sandbox process over the whole job [s] (RLIMIT_CPU; SIGXCPU ends it).
    cpu_s: float = 60.0
    #: Wall time of one hook call, and of loading the module [s]; the worker kills the sandbox.
    wall_s: float = 30.0
    #: Address space the hooks may add beyond the host's own after start-up [MiB] (RLIMIT_AS).
    memory_mb: float = 1024.0
    #: Largest file the hooks may write in their scratch directory [MiB] (RLIMIT_FSIZE).
    fsize_mb: float = 64.0
    #: Time to start the host process and import NumPy [s].
    startup_s: float = 60.0
    #: Emitted values one job's hooks may publish in all (the stream is shared by everyone).
    emits_per_job: int = 100_000


def _memfd(name: str, size: int) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    # the sandbox must not resize the file under the worker's mapping (SIGBUS in the worker)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


class _Block:
    """The memfd-backed particle blocks (see layout.py) and their views in this process."""

    def __init__(self, n: int):
        self.n = n
        real_size, meta_size = block_sizes(n)
        self.real_fd = _memfd("beamtrack-beam", real_size)
        self.meta_fd = _memfd("beamtrack-beam-meta", meta_size)
        # what the sandbox gets for id/state: a read-only open of the same memfd, so its mapping
        # can never be made writable (mprotect needs the file open for writing)
        self.meta_ro = os.open(f"/proc/self/fd/{self.meta_fd}", os.O_RDONLY | os.O_CLOEXEC)
        self.real_mm = mmap.mmap(self.real_fd, real_size)
        self.meta_mm = mmap.mmap(self.meta_fd, meta_size)
        views = beam_views(self.real_mm, self.meta_mm, n)
        self.real, self.id, self.state = views["real"], views["id"], views["state"]

    @property
    def sandbox_fds(self) -> list[int]:
        return [self.real_fd, self.meta_ro]

    def close(self) -> None:
        for fd in (self.real_fd, self.meta_fd, self.meta_ro):
            os.close(fd)


def _start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): with the pid it names a process
    uniquely on this host; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()[19].decode()


@functools.cache
def worker_scratch_dir(root: str | None) -> str:
    """This worker process's directory for sandbox scratch dirs:
    ``<root>/beamtrack-hooks-<uid>/w<pid>-<start ticks>`` (root: the system temp dir). Made
    once per process; the directories of workers that no longer run (killed before they could
    clean up) are removed then. A sandbox gets a random directory inside (``tempfile.mkdtemp``)
    and can list none of these directories (Landlock), so no path it sees names another job."""
    base = Path(root or tempfile.gettempdir()) / f"beamtrack-hooks-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    me = f"w{os.getpid()}-{_start_ticks(os.getpid())}"
    for entry in base.iterdir():
        pid, _, ticks = entry.name[1:].partition("-")
        if entry.name != me and pid.isdigit() and _start_ticks(int(pid)) != ticks:
            shutil.rmtree(entry, ignore_errors=True)
    mine = base / me
    mine.mkdir(mode=0o700, exist_ok=True)
    return str(mine)


class HookSandbox:
    """Runs an uploaded hook module for one Simulation in a locked-down process (see the module
    docstring). Use as a context manager, or call ``start(sim)`` then ``close()``."""

    def __init__(
        self,
        source: str,
        *,
        limits: SandboxLimits | None = None,
        on_emit: EmitFn | None = None,
        scratch_root: str | None = None,
    ):
        self.source = source
        self.limits = limits or SandboxLimits()
        self.on_emit = on_emit
        self.scratch_root = scratch_root
        self.hooks: list[str] = []
        #: Programmable element name -> the functions the module gives it
        self.programmable: dict[str, list[str]] = {}
        #: hook calls made, and their total wall time in this process [s]
        self.calls = 0
        self.call_time_s = 0.0
        #: values emitted so far (all calls)
        self.emitted = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._rx: Receiver | None = None
        self._block: _Block | None = None
        self._adopted = False
        self._beam: Any = None
        self._sim: Any = None
        self._scratch: str | None = None
        self._log: Any = None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self, sim: Any) -> list[str]:
        """Start the sandbox for ``sim``, set ``sim.hook[name]`` for every hook the module
        defines and the functions of the Programmable elements its ``programmable`` dict names;
        returns the hook names (then ``element.function`` for those). Raises SandboxError when
        it cannot."""
        reason = sandbox_unsupported()
        if reason:
            raise SandboxUnavailable("", f"the hook sandbox cannot run on this host: {reason}")
        self._sim = sim
        self._beam = sim.beam
        self._block = _Block(sim.beam.size)
        self._adopt()
        self._scratch = tempfile.mkdtemp(prefix="", dir=worker_scratch_dir(self.scratch_root))
        self._log = tempfile.TemporaryFile()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = parent
        self._rx = Receiver(parent)
        env = {
            "PATH": os.defpath,
            "HOME": self._scratch,
            "TMPDIR": self._scratch,
            "LC_ALL": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-B",
                    "-m",
                    "beamtrack.workers.sandbox.host",
                    str(child.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self._scratch,
                env=env,
                start_new_session=True,
            )
        finally:
            child.close()
        limits = {"cpu_s": self.limits.cpu_s, "memory_mb": self.limits.memory_mb, "fsize_mb": self.limits.fsize_mb}
        send_msg(
            parent,
            {"op": "init", "source": self.source, "n": self._block.n, "scratch": self._scratch, "limits": limits},
            fds=self._block.sandbox_fds,
        )
        deadline = time.monotonic() + self.limits.startup_s + self.limits.wall_s
        reply = self._receive("", deadline, "loading the hook module")
        if reply["op"] == "setup_failed":
            raise SandboxUnavailable(
                "", "the hook sandbox could not be set up: " + clean_text(reply.get("message"), 500)
            )
        hooks, table = reply.get("hooks"), reply.get("programmable", {})
        if (
            reply["op"] != "ready"
            or not _str_list(hooks, set(HOOK_NAMES))
            or not (
                isinstance(table, dict)
                and all(
                    isinstance(k, str) and len(k) <= 1000 and _str_list(v, set(PROGRAMMABLE_FUNCTIONS))
                    for k, v in table.items()
                )
            )
        ):
            self._kill()
            raise SandboxViolation(
                "", f"the hook module broke the sandbox: a forged reply to init ({clean_text(reply, 200)})"
            )
        self.hooks = list(hooks)
        self.programmable = {k: list(v) for k, v in table.items()}
        if not self.hooks and not self.programmable:
            raise HookFailed(
                "",
                "the hook module defines none of the hook functions "
                + ", ".join(HOOK_NAMES)
                + f" and no {PROGRAMMABLE_DICT} dict",
            )
        installed = self._install_programmable(sim)
        for name in self.hooks:
            sim.hook[name] = self._proxy(name)
        return list(self.hooks) + installed

    def close(self) -> None:
        """Stop the sandbox, give the beam back private arrays, remove the scratch directory."""
        proc, sock = self._proc, self._sock
        if sock is not None:
            if proc is not None and proc.poll() is None:
                try:
                    send_msg(sock, {"op": "exit"})
                    proc.wait(2.0)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            sock.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if self._block is not None:
            if self._adopted:
                beam = self._beam
                beam.real, beam.id, beam.state = (
                    self._block.real.copy(),
                    self._block.id.copy(),
                    self._block.state.copy(),
                )
            self._block.close()
        if self._log is not None:
            self._log.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        self._proc = self._sock = self._rx = self._block = self._log = self._scratch = None
        self._sim = None
        self._adopted = False

    def __enter__(self) -> HookSandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the particle block --------------------------------------------------------------------
    def _adopt(self) -> None:
        """Copy the beam into the block; on the CPU make the block the beam's own storage."""
        beam, block = self._beam, self._block
        assert block is not None
        if beam.xp is np:
            block.real[...] = beam.real
            block.id[...] = beam.id
            block.state[...] = beam.state
            beam.real, beam.id, beam.state = block.real, block.id, block.state
            self._adopted = True
        else:
            self._adopted = False

    def _sync_in(self) -> None:
        beam, block = self._beam, self._block
        assert block is not None and self._sock is not None
        if beam.size != block.n:
            if self._adopted:
                beam.real, beam.id, beam.state = block.real.copy(), block.id.copy(), block.state.copy()
            old = block
            self._block = block = _Block(beam.size)
            send_msg(self._sock, {"op": "remap", "n": block.n}, fds=block.sandbox_fds)
            reply = self._receive("", time.monotonic() + self.limits.wall_s, "resizing the beam")
            if reply["op"] != "ok":
                self._forged("", f"answered {clean_text(reply['op'], 50)!r} to remap")
            old.close()
            self._adopt()
        if self._adopted and beam.real is block.real and beam.id is block.id and beam.state is block.state:
            return
        self._adopted = False
        block.real[...] = beam.host(beam.real)
        block.id[...] = beam.host(beam.id)
        block.state[...] = beam.host(beam.state)

    def _sync_out(self) -> None:
        if not self._adopted:
            assert self._block is not None
            self._beam.real[...] = self._beam.xp.asarray(self._block.real)

    # --- calls ---------------------------------------------------------------------------------
    def _proxy(self, name: str) -> Callable[[Any], None]:
        def hook(sim: Any) -> None:
            self.call(name, sim)

        hook.__name__ = name
        return hook

    def _install_programmable(self, sim: Any) -> list[str]:
        """Give the lattice's Programmable elements the module's functions for them."""
        from beamtrack.engine.elements import Programmable

        found = {el.name for el in sim.lattice if isinstance(el, Programmable)}
        missing = sorted(set(self.programmable) - found)
        if missing:
            raise HookFailed(
                "",
                f"the hook module's {PROGRAMMABLE_DICT} names "
                f"{clean_text(', '.join(map(repr, missing)), 300)}, which "
                f"{'is not a Programmable element' if len(missing) == 1 else 'are not Programmable elements'}"
                f" of the lattice (its Programmable elements: "
                f"{', '.join(sorted(map(repr, found))) or 'none'})",
            )
        for el in sim.lattice:
            fns = self.programmable.get(el.name) if isinstance(el, Programmable) else None
            if not fns:
                continue
            if "push" in fns:
                el.push = self._element_fn(el.name, "push")
            if "beam_particles" in fns:
                el.beam_particles = self._element_fn(el.name, "beam_particles")
            if "ref_particle" in fns:
                el.ref_particle = self._element_fn(el.name, "ref_particle")
        return [f"{k}.{f}" for k, v in sorted(self.programmable.items()) for f in v]

    def _element_fn(self, element: str, fn: str) -> Callable[..., None]:
        if fn == "ref_particle":

            def call(refpart: Any) -> None:
                self.call(fn, self._sim, element=element, ref=refpart)
        elif fn == "beam_particles":

            def call(arrays: Any, refpart: Any) -> None:  # type: ignore[misc]
                self.call(fn, self._sim, element=element, ref=refpart)
        else:

            def call(sim: Any, step: int, period: int) -> None:  # type: ignore[misc]
                self.call(fn, sim, element=element, ref=sim.reference)

        call.__name__ = f"{fn}__{element}"
        return call

    def call(self, name: str, sim: Any, *, element: str | None = None, ref: Any = None) -> None:
        """Run hook ``name`` (or function ``name`` of Programmable element ``element``, with
        reference particle ``ref``) in the sandbox on ``sim``'s current state."""
        t0 = time.perf_counter()
        who = name if element is None else f"Programmable element {element!r} {name}"
        self._sync_in()
        assert self._sock is not None
        ref = sim.reference if ref is None else ref
        msg: dict[str, Any] = {
            "op": "call",
            "hook": name,
            "step": int(sim.tracking_step),
            "period": int(sim.tracking_period),
            "element": int(sim.tracking_element),
            "ref": ref.to_dict(),
        }
        if element is not None:
            msg["programmable"] = element
        send_msg(self._sock, msg)
        reply = self._receive(who, time.monotonic() + self.limits.wall_s, "a hook call")
        if reply["op"] != "done":
            self._forged(who, f"answered {clean_text(reply['op'], 50)!r} to a call")
        emits = self._check_emits(who, reply.get("emits"), int(sim.tracking_step))
        state = None
        if element is not None and name != "beam_particles":
            state = self._check_ref(who, reply.get("ref"))
        self._sync_out()
        if state is not None:
            for key, value in state.items():
                setattr(ref, key, value)
        self.calls += 1
        self.call_time_s += time.perf_counter() - t0
        if self.on_emit is None:
            return
        for item in emits:
            self.on_emit(*item)

    # --- checking what the sandbox sent ----------------------------------------------------------
    def _forged(self, who: str, what: str) -> None:
        """The reply is not what the host sends: the hook forged it. Stops the sandbox."""
        self._kill()
        raise SandboxViolation(who, f"{_who(who)} broke the sandbox: a forged reply: {what}")

    def _check_emits(self, who: str, emits: Any, step: int) -> list[tuple[str, float | None, int]]:
        """Every emitted value checked (the host checks them too, but the reply may be forged):
        a list of at most MAX_EMITS_PER_CALL [name, value, step] with a printable name of 1 to
        MAX_NAME characters, a finite number or null, and this call's step."""
        if not isinstance(emits, list):
            self._forged(who, "'emits' is not a list")
        if len(emits) > MAX_EMITS_PER_CALL:
            self._forged(who, f"{len(emits)} emitted values in one call (at most {MAX_EMITS_PER_CALL})")
        if self.emitted + len(emits) > self.limits.emits_per_job:
            self._kill()
            raise SandboxLimitExceeded(
                who, f"{_who(who)} emitted more than {self.limits.emits_per_job} values, the limit per job"
            )
        out: list[tuple[str, float | None, int]] = []
        for i, item in enumerate(emits):
            if not (isinstance(item, list) and len(item) == 3):
                self._forged(who, f"emits[{i}] is not [name, value, step]")
            name, value, at = item
            if not (isinstance(name, str) and 1 <= len(name) <= MAX_NAME and name.isprintable()):
                self._forged(who, f"emits[{i}] name is not a printable string of 1 to {MAX_NAME} characters")
            if not (
                value is None
                or (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value))
            ):
                self._forged(who, f"emits[{i}] value is not a finite number or null")
            if type(at) is not int or at != step:
                self._forged(who, f"emits[{i}] step is not this call's step {step}")
            out.append((name, None if value is None else float(value), step))
        self.emitted += len(out)
        return out

    def _check_ref(self, who: str, state: Any) -> dict[str, float]:
        if not (
            isinstance(state, dict)
            and set(state) <= set(REF_STATE)
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in state.values())
        ):
            self._forged(who, "'ref' is not a dict of finite reference-particle fields " + ", ".join(REF_STATE))
        if "pt" in state and not state["pt"] <= -1.0:
            raise HookFailed(
                who, f"{_who(who)} set the reference particle's pt to {state['pt']!r}; it must be <= -1 (pt = -gamma)"
            )
        return {k: float(v) for k, v in state.items()}

    # --- replies and failures ------------------------------------------------------------------
    def _receive(self, hook: str, deadline: float, doing: str) -> dict[str, Any]:
        """The next reply; a failure reply, a timeout or the sandbox's death raise SandboxError."""
        assert self._rx is not None
        try:
            msg, _ = self._rx.recv(deadline)
        except ChannelTimeout:
            self._kill()
            raise SandboxLimitExceeded(
                hook,
                f"{_who(hook)} ran past the wall-time limit of "
                f"{self.limits.wall_s:g} s ({doing}); the sandbox "
                f"was stopped",
            ) from None
        except (ChannelClosed, ConnectionError):
            raise self._death(hook) from None
        except ProtocolError as exc:
            self._kill()
            raise SandboxViolation(
                hook, f"{_who(hook)} broke the sandbox: it broke the channel protocol: {clean_text(str(exc), 300)}"
            ) from None
        op = msg["op"]
        if op == "violation":
            self._kill()
            raise SandboxViolation(
                hook, f"{_who(hook)} broke the sandbox: {clean_text(msg.get('what'), MAX_MESSAGE_CHARS)}"
            )
        if op == "error":
            raise self._error(hook, msg)
        return msg

    def _error(self, hook: str, msg: dict[str, Any]) -> SandboxError:
        exc = f"{clean_text(msg.get('type'), 200)}: {clean_text(msg.get('message'), MAX_MESSAGE_CHARS)}"
        if msg.get("violation"):
            return SandboxViolation(
                hook, f"{_who(hook)} broke the sandbox: {clean_text(msg['violation'], MAX_MESSAGE_CHARS)}"
            )
        if msg.get("kind") == "memory":
            return SandboxLimitExceeded(
                hook, f"{_who(hook)} ran out of memory: the sandbox's limit is {self.limits.memory_mb:g} MiB ({exc})"
            )
        tb = clean_text(msg.get("traceback") or "", MAX_TRACEBACK_CHARS)
        if msg.get("kind") == "load":
            text = f"hook module failed to load: {exc}"
        else:
            text = f"{_who(hook)} raised {exc}"
        return HookFailed(hook, text + (f"\n{tb.rstrip()}" if tb.strip() else ""))

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _death(self, hook: str) -> SandboxError:
        """Why the sandbox process ended, from its exit status and CPU time."""
        proc = self._proc
        assert proc is not None
        cpu = 0.0
        if proc.returncode is None:
            pid, status, ru = _wait4(proc.pid, timeout=5.0)
            if pid == 0:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu = ru.ru_utime + ru.ru_stime
        rc = proc.returncode
        if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu >= self.limits.cpu_s - 0.1):
            return SandboxLimitExceeded(
                hook, f"{_who(hook)} ran out of CPU time: the sandbox's limit is {self.limits.cpu_s:g} s per job"
            )
        if rc == -signal.SIGSYS:
            return SandboxViolation(hook, f"{_who(hook)} broke the sandbox: a forbidden system call")
        if rc == -signal.SIGXFSZ:
            return SandboxLimitExceeded(
                hook, f"{_who(hook)} wrote a file larger than the sandbox's limit of {self.limits.fsize_mb:g} MiB"
            )
        try:
            what = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        except ValueError:
            what = f"signal {-rc}"
        return SandboxLimitExceeded(hook, f"{_who(hook)}: the sandbox process ended ({what})" + self._log_tail())

    def _log_tail(self, limit: int = 1500) -> str:
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        text = clean_text(self._log.read().decode("utf-8", "replace").strip(), limit)
        return f"; its output ends with:\n{text}" if text else ""


def _str_list(value: Any, allowed: set[str]) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) and v in allowed for v in value)


def _who(hook: str) -> str:
    if hook.startswith("Programmable element "):
        return hook
    return f"hook {hook!r}" if hook else "the hook module"


def _wait4(pid: int, timeout: float) -> tuple[int, int, resource.struct_rusage]:
    """os.wait4 with a timeout; (0, 0, rusage) when the process has not ended by then."""
    deadline = time.monotonic() + timeout
    while True:
        pid_out, status, ru = os.wait4(pid, os.WNOHANG)
        if pid_out or time.monotonic() > deadline:
            return pid_out, status, ru
        time.sleep(0.01)
