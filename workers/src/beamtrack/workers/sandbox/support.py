"""Checks that need neither NumPy nor a sandbox process: can this host run the sandbox, and is
an uploaded hook module acceptable (size, syntax, defines a hook or Programmable element
functions)."""

from __future__ import annotations

import ast
import functools
import os
import sys

from .layout import HOOK_NAMES, PROGRAMMABLE_DICT

#: Largest hook module accepted [bytes of UTF-8 source].
MAX_HOOK_MODULE_BYTES = 256 * 1024


@functools.cache
def sandbox_unsupported() -> str | None:
    """None when this host can run the hook sandbox, else why not (cached per process)."""
    if not sys.platform.startswith("linux"):
        return f"it needs Linux (this is {sys.platform})"
    if not hasattr(os, "memfd_create"):
        return "this Python has no os.memfd_create"
    from . import confinement

    abi = confinement.landlock_abi()
    if abi < 1:
        return "the kernel does not offer Landlock (CONFIG_SECURITY_LANDLOCK, lsm=landlock)"
    reason = confinement.seccomp_available()
    if reason:
        return f"seccomp is not usable: {reason}"
    return None


def hook_module_problem(source: str) -> str | None:
    """None when ``source`` may be queued, else what is wrong with it. Nothing is executed: the
    module's code only ever runs inside the sandbox."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_HOOK_MODULE_BYTES:
        return f"{size} bytes; at most {MAX_HOOK_MODULE_BYTES} are accepted"
    try:
        tree = ast.parse(source, "<hook_module>")
    except SyntaxError as exc:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except ValueError as exc:
        return f"not Python source: {exc}"
    except (RecursionError, MemoryError):
        # the parser's own limits (deep nesting such as 10**5 unary minus signs)
        return "nested too deeply to parse"
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    if not names & {*HOOK_NAMES, PROGRAMMABLE_DICT}:
        return f"defines none of the hook functions {', '.join(HOOK_NAMES)} and no {PROGRAMMABLE_DICT} dict"
    return None
