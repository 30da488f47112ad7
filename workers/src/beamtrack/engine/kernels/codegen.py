"""Generate the C source of one tracking kernel from the element classes it must hold.

A kernel exports ``bt_setup(ops, nops, aux)``, ``bt_track(real, cap, n, state, s_lost, ops, nops,
aux, nthreads)`` and ``bt_track_batch(real, cap, nvar, stride, npv, state, s_lost, ops, nops, aux,
nthreads)``. On the CPU, particles are processed in chunks of ``BT_CHUNK`` that stay in L1 cache
while every op of a fused segment is applied to them (the inner loop over the chunk is a SIMD
loop); on CUDA, one thread carries one particle through all ops in registers.

``bt_track_batch`` is packed execution: ``nvar`` variants of one line, variant ``v`` holding the
``npv`` particles at columns ``[v * stride, v * stride + npv)`` and its own ``nops`` ops at
``ops[v * nops]``. Chunks restart at each variant's first particle and never straddle two, and
a chunk runs exactly the code ``bt_track`` runs on the variant alone, so each particle's result
is the one an unpacked run gives.

The loops are C headers under ``kernels/loops/`` (``cpu_class_loop.h``, ``cpu_kernel.h``,
``cuda_kernel.h``; their switches in ``loops/config.h``). The generated source is only the config's
``#define`` lines, each class's parameter accessors (``KernelClass.params``), the ``#include`` of each
class's header, one ``BT_CLASS``/``BT_CLASS_ID``/
``BT_CAN_LOSE`` block per class for its CPU loop, and the class list as the ``BT_CLASSES`` X-macro.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .ops import NPARAM

KINDS = ("serial", "openmp", "cuda")

#: op->p slots an element class may name (the last of ops.NPARAM is the spin kernels' G, bt_spin.h)
MAX_PARAMS = NPARAM - 1

COMMON_HEADER = "beamtrack/engine/kernels/bt_common.h"
LOOPS_DIR = "beamtrack/engine/kernels/loops"


@dataclass(frozen=True)
class KernelClass:
    """One element class as the kernel sees it: C name prefix, header include path, can it lose particles.

    ``spin_header``: the header of its spin push (``NAME_spin_setup`` / ``NAME_spin_push``, see
    ``bt_spin.h``), None when the class has no spin tracking. It is not part of the class's identity
    (equality, hash, prebuilt metadata): only spin kernels include it, and those are compiled per line.

    ``params``: the names of its element parameters, in the order of the op's ``p`` slots (the order
    ``Element.params()`` returns their values). Each kernel defines the accessor ``NAME_<param>(op)``
    for each (``Quad_k(op)`` is ``op->p[0]``), which the class's C headers read instead of a slot number.
    """

    name: str
    header: str
    can_lose: bool = False
    spin_header: str | None = field(default=None, compare=False)
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [p for p in self.params if not p.isidentifier() or not p.isascii()]
        if bad or len(set(self.params)) != len(self.params):
            raise ValueError(
                f"KernelClass {self.name}: parameter names must be distinct C identifiers, got {self.params}"
            )
        if len(self.params) > MAX_PARAMS:
            raise ValueError(f"KernelClass {self.name}: {len(self.params)} parameters > {MAX_PARAMS}")


def _includes(headers: Sequence[str]) -> list[str]:
    return [f'#include "{h}"' for h in dict.fromkeys(headers)]


def _spin_headers(classes: Sequence[KernelClass]) -> list[str]:
    missing = [k.name for k in classes if k.spin_header is None]
    if missing:
        raise ValueError(f"spin kernel: element class(es) {', '.join(missing)} have no spin push")
    return [str(k.spin_header) for k in classes]


def _param_accessors(classes: Sequence[KernelClass]) -> list[str]:
    """``#define NAME_<param>(op) ((op)->p[i])`` for each named parameter of each class."""
    out = []
    for k in dict.fromkeys(classes):
        out += [f"#define {k.name}_{p}(op) ((op)->p[{i}])" for i, p in enumerate(k.params)]
    return out


def _class_list(classes: Sequence[KernelClass]) -> list[str]:
    """The ``BT_CLASSES`` X-macro: ``X(kind id, C name prefix)`` per class, in kind-id order."""
    items = [f"    X({i}, {k.name})" for i, k in enumerate(classes)]
    return ["#define BT_CLASSES(X) \\", *(f"{line} \\" for line in items[:-1]), *items[-1:]]


def _cpu_loops(classes: Sequence[KernelClass]) -> list[str]:
    out = []
    for i, k in enumerate(classes):
        out += [
            f"#define BT_CLASS {k.name}",
            f"#define BT_CLASS_ID {i}",
            f"#define BT_CAN_LOSE {int(k.can_lose)}",
            f'#include "{LOOPS_DIR}/cpu_class_loop.h"',
        ]
    return out


def generate(
    kind: str,
    classes: Sequence[KernelClass],
    defines: Mapping[str, int] | None = None,
    extra_classes: Sequence[KernelClass] = (),
    spin: bool = False,
    comment: str = "",
) -> str:
    """C source (C11 for the CPU kinds, CUDA C++ for cuda) of the kernel holding ``classes`` (kind ids =
    list positions).

    ``defines``: the compile switches of ``loops/config.h`` (absent ones take its defaults: every path
    compiled in). ``extra_classes``: helper headers whose C API the kernel must contain without
    dispatching to them. ``spin``: also rotate each particle's spin (rows 7..9 of ``real``) with the
    classes' spin pushes. ``comment``: one line describing the config, written at the top.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kernel kind {kind!r}; known: {', '.join(KINDS)}")
    if not classes:
        raise ValueError("a kernel needs at least one element class")
    lines = [f"/* generated by beamtrack.engine.kernels.codegen: kind={kind} */"]
    if comment:
        lines.append(f"/* {comment} */")
    lines += [f"#define {name} {value}" for name, value in (defines or {}).items()]
    if spin:
        lines.append("#define BT_SPIN 1")
    lines += _param_accessors([*classes, *extra_classes])
    lines += _includes([COMMON_HEADER, *(k.header for k in extra_classes)])
    if kind != "cuda":
        lines += _includes([f"{LOOPS_DIR}/cpu_vector_math.h"])
    lines += _includes([k.header for k in classes] + (_spin_headers(classes) if spin else []))
    if kind != "cuda":
        lines += _cpu_loops(classes)
    lines += _class_list(classes)
    lines += _includes([f"{LOOPS_DIR}/{'cuda' if kind == 'cuda' else 'cpu'}_kernel.h"])
    return "\n".join(lines) + "\n"
