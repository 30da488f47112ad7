"""Why a sandboxed hook failed its job. Every message names the hook and what happened; the
worker records ``str(error)`` as the job's error."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """Base: ``hook`` is the hook's name ("" for the module's own top-level code)."""

    def __init__(self, hook: str, message: str):
        super().__init__(message)
        self.hook = hook


class SandboxUnavailable(SandboxError):
    """The sandbox cannot be set up on this host (no Landlock, no seccomp, ...)."""


class HookFailed(SandboxError):
    """The hook (or the module's top-level code) raised; the message carries its traceback."""


class SandboxViolation(SandboxError):
    """The hook tried something the sandbox forbids: files outside its scratch directory, the
    network, new processes, signals to other processes, raising its limits."""


class SandboxLimitExceeded(SandboxError):
    """The hook ran out of CPU time, memory or wall time, or the sandbox process died."""
