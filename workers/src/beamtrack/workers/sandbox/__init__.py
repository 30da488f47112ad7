"""The hook sandbox: hook modules uploaded with a job run in a separate, locked-down process
that sees the beam through shared memory (see docs/service.md, "Hook modules").

This package's top level imports neither NumPy nor the engine (the server uses it to check
support and validate modules); the worker side is :class:`.supervisor.HookSandbox`.
"""

from __future__ import annotations

from .errors import HookFailed, SandboxError, SandboxLimitExceeded, SandboxUnavailable, SandboxViolation
from .layout import HOOK_NAMES
from .support import MAX_HOOK_MODULE_BYTES, hook_module_problem, sandbox_unsupported

__all__ = [
    "HOOK_NAMES",
    "MAX_HOOK_MODULE_BYTES",
    "HookFailed",
    "SandboxError",
    "SandboxLimitExceeded",
    "SandboxUnavailable",
    "SandboxViolation",
    "hook_module_problem",
    "sandbox_unsupported",
]
