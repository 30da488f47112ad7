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
import math
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
from typing import Any

import numpy as np

from .channel import ChannelClosed, ChannelTimeout, ProtocolError, Receiver, send_msg
from .errors import HookFailed, SandboxError, SandboxLimitExceeded, SandboxUnavailable, SandboxViolation
from .layout import HOOK_NAMES, beam_views, block_size
from .support import sandbox_unsupported

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


class _Block:
    """One memfd-backed particle block and its views in this process."""

    def __init__(self, n: int):
        self.n = n
        self.fd = os.memfd_create("beamtrack-beam", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        size = block_size(n)
        os.ftruncate(self.fd, size)
        # the sandbox must not shrink the file under the worker's mapping (SIGBUS in the worker)
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        import mmap

        self.mm = mmap.mmap(self.fd, size)
        views = beam_views(self.mm, n)
        self.real, self.id, self.state = views["real"], views["id"], views["state"]

    def close(self) -> None:
        os.close(self.fd)


class HookSandbox:
    """Runs an uploaded hook module for one Simulation in a locked-down process (see the module
    docstring). Use as a context manager, or call ``start(sim)`` then ``close()``."""

    def __init__(self, source: str, *, limits: SandboxLimits | None = None,
                 on_emit: EmitFn | None = None, scratch_root: str | None = None):
        self.source = source
        self.limits = limits or SandboxLimits()
        self.on_emit = on_emit
        self.scratch_root = scratch_root
        self.hooks: list[str] = []
        #: hook calls made, and their total wall time in this process [s]
        self.calls = 0
        self.call_time_s = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._rx: Receiver | None = None
        self._block: _Block | None = None
        self._adopted = False
        self._beam: Any = None
        self._scratch: str | None = None
        self._log: Any = None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self, sim: Any) -> list[str]:
        """Start the sandbox for ``sim`` and set ``sim.hook[name]`` for every hook the module
        defines; returns their names. Raises SandboxError when it cannot."""
        reason = sandbox_unsupported()
        if reason:
            raise SandboxUnavailable("", f"the hook sandbox cannot run on this host: {reason}")
        self._beam = sim.beam
        self._block = _Block(sim.beam.size)
        self._adopt()
        self._scratch = tempfile.mkdtemp(prefix="beamtrack-hook-", dir=self.scratch_root)
        self._log = tempfile.TemporaryFile()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = parent
        self._rx = Receiver(parent)
        env = {"PATH": os.defpath, "HOME": self._scratch, "TMPDIR": self._scratch,
               "LC_ALL": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-m", "beamtrack.workers.sandbox.host",
                 str(child.fileno()), str(os.getpid())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=subprocess.STDOUT, cwd=self._scratch, env=env, start_new_session=True,
            )
        finally:
            child.close()
        limits = {"cpu_s": self.limits.cpu_s, "memory_mb": self.limits.memory_mb,
                  "fsize_mb": self.limits.fsize_mb}
        send_msg(parent, {"op": "init", "source": self.source, "n": self._block.n,
                          "scratch": self._scratch, "limits": limits}, fds=[self._block.fd])
        deadline = time.monotonic() + self.limits.startup_s + self.limits.wall_s
        reply = self._receive("", deadline, "loading the hook module")
        if reply["op"] == "setup_failed":
            raise SandboxUnavailable("", f"the hook sandbox could not be set up: "
                                         f"{str(reply.get('message'))[:500]}")
        if reply["op"] != "ready" or not isinstance(reply.get("hooks"), list):
            raise SandboxError("", f"the hook sandbox answered {reply['op']!r} to init")
        self.hooks = [h for h in reply["hooks"] if h in HOOK_NAMES]
        if not self.hooks:
            raise HookFailed("", "the hook module defines none of the hook functions "
                                 + ", ".join(HOOK_NAMES))
        for name in self.hooks:
            sim.hook[name] = self._proxy(name)
        return list(self.hooks)

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
                beam.real, beam.id, beam.state = (self._block.real.copy(), self._block.id.copy(),
                                                  self._block.state.copy())
            self._block.close()
        if self._log is not None:
            self._log.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        self._proc = self._sock = self._rx = self._block = self._log = self._scratch = None
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
            send_msg(self._sock, {"op": "remap", "n": block.n}, fds=[block.fd])
            self._receive("", time.monotonic() + self.limits.wall_s, "resizing the beam")
            old.close()
            self._adopt()
        if self._adopted and beam.real is block.real and beam.id is block.id \
                and beam.state is block.state:
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

    def call(self, name: str, sim: Any) -> None:
        """Run hook ``name`` in the sandbox on ``sim``'s current state."""
        t0 = time.perf_counter()
        self._sync_in()
        assert self._sock is not None
        ref = sim.reference.to_dict()
        send_msg(self._sock, {"op": "call", "hook": name, "step": int(sim.tracking_step),
                              "period": int(sim.tracking_period),
                              "element": int(sim.tracking_element), "ref": ref})
        reply = self._receive(name, time.monotonic() + self.limits.wall_s, "a hook call")
        if reply["op"] != "done":
            raise SandboxError(name, f"hook {name!r}: the sandbox answered {reply['op']!r}")
        self._sync_out()
        emits = reply.get("emits")
        if not isinstance(emits, list):
            raise SandboxError(name, f"hook {name!r}: malformed reply from the sandbox")
        self.calls += 1
        self.call_time_s += time.perf_counter() - t0
        if self.on_emit is None:
            return
        for item in emits:
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                    and 1 <= len(item[0]) <= 100 and isinstance(item[2], int)
                    and (item[1] is None or isinstance(item[1], int | float))):
                raise SandboxError(name, f"hook {name!r}: malformed emitted value from the sandbox")
            value = None if item[1] is None or not math.isfinite(item[1]) else float(item[1])
            self.on_emit(item[0], value, item[2])

    # --- replies and failures ------------------------------------------------------------------
    def _receive(self, hook: str, deadline: float, doing: str) -> dict[str, Any]:
        """The next reply; a failure reply, a timeout or the sandbox's death raise SandboxError."""
        assert self._rx is not None
        try:
            msg, fds = self._rx.recv(deadline)
        except ChannelTimeout:
            self._kill()
            raise SandboxLimitExceeded(hook, f"{_who(hook)} ran past the wall-time limit of "
                                             f"{self.limits.wall_s:g} s ({doing}); the sandbox "
                                             f"was stopped") from None
        except (ChannelClosed, ConnectionError):
            raise self._death(hook) from None
        except ProtocolError as exc:
            self._kill()
            raise SandboxError(hook, f"{_who(hook)}: the sandbox broke the protocol: {exc}") from None
        for fd in fds:
            os.close(fd)
        op = msg["op"]
        if op == "violation":
            raise SandboxViolation(hook, f"{_who(hook)} broke the sandbox: {msg.get('what')}")
        if op == "error":
            raise self._error(hook, msg)
        return msg

    def _error(self, hook: str, msg: dict[str, Any]) -> SandboxError:
        exc = f"{msg.get('type')}: {msg.get('message')}"
        if msg.get("violation"):
            return SandboxViolation(hook, f"{_who(hook)} broke the sandbox: {msg['violation']}")
        if msg.get("kind") == "memory":
            return SandboxLimitExceeded(hook, f"{_who(hook)} ran out of memory: the sandbox's "
                                              f"limit is {self.limits.memory_mb:g} MiB ({exc})")
        tb = str(msg.get("traceback") or "")
        if msg.get("kind") == "load":
            text = f"hook module failed to load: {exc}"
        else:
            text = f"hook {hook!r} raised {exc}"
        return HookFailed(hook, text + (f"\n{tb.rstrip()}" if tb else ""))

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
            return SandboxLimitExceeded(hook, f"{_who(hook)} ran out of CPU time: the sandbox's "
                                              f"limit is {self.limits.cpu_s:g} s per job")
        if rc == -signal.SIGSYS:
            return SandboxViolation(hook, f"{_who(hook)} broke the sandbox: a forbidden system call")
        if rc == -signal.SIGXFSZ:
            return SandboxLimitExceeded(hook, f"{_who(hook)} wrote a file larger than the "
                                              f"sandbox's limit of {self.limits.fsize_mb:g} MiB")
        what = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        return SandboxLimitExceeded(hook, f"{_who(hook)}: the sandbox process ended ({what})"
                                          + self._log_tail())

    def _log_tail(self, limit: int = 1500) -> str:
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        text = self._log.read().decode("utf-8", "replace").strip()
        return f"; its output ends with:\n{text}" if text else ""


def _who(hook: str) -> str:
    return f"hook {hook!r}" if hook else "the hook module"


def _wait4(pid: int, timeout: float) -> tuple[int, int, resource.struct_rusage]:
    """os.wait4 with a timeout; (0, 0, rusage) when the process has not ended by then."""
    deadline = time.monotonic() + timeout
    while True:
        pid_out, status, ru = os.wait4(pid, os.WNOHANG)
        if pid_out or time.monotonic() > deadline:
            return pid_out, status, ru
        time.sleep(0.01)
