"""Element parameters reach the C headers by name: each kernel defines ``NAME_<param>(op)`` from the
element class's ``KernelClass.params`` (the Python element definitions), and no built-in header reads an
``op->p`` slot by number (the spin kernels' G, ``op->p[BT_P_GYRO]``, is no element parameter)."""

from __future__ import annotations

import re

import pytest
from beamtrack.engine import elements as E
from beamtrack.engine.elements.registry import builtin, include_roots
from beamtrack.engine.kernels import variants
from beamtrack.engine.kernels.codegen import KernelClass
from beamtrack.engine.kernels.ops import empty_ops
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.unit


def builtin_kernel_classes() -> list[KernelClass]:
    return sorted({c.kernel for c in builtin().values() if isinstance(c.kernel, KernelClass)}, key=lambda k: k.name)


def test_no_builtin_header_reads_a_parameter_slot_by_number() -> None:
    headers = {h for k in builtin_kernel_classes() for h in (k.header, k.spin_header) if h is not None}
    roots = include_roots()
    offenders = []
    for h in sorted(headers):
        path = next(r / h for r in roots if (r / h).is_file())
        offenders += [f"{h}: {m}" for m in re.findall(r"op->p\[\s*\d+\s*\]", path.read_text())]
    assert not offenders, offenders


def test_kernel_defines_an_accessor_per_named_parameter() -> None:
    src = variants.generate("serial", builtin_kernel_classes(), {})
    assert "#define Quad_k(op) ((op)->p[0])" in src
    assert "#define DipEdge_modify_ref_part(op) ((op)->p[13])" in src


def test_params_count_must_match_the_names() -> None:
    """An element whose params() gives another number of values than its kernel names is refused."""

    class TwoValueQuad(E.Quad):
        def params(self) -> tuple[float, float]:
            return (1.0, 2.0)

    ops = empty_ops(1)
    with pytest.raises(ValueError, match="2 values for the kernel's \\('k',\\)"):
        TwoValueQuad(ds=1.0, k=1.0).fill_ops(ops, RefPart(), RefPart(), 1)
    E.Quad(ds=1.0, k=3.0).fill_ops(ops, RefPart(), RefPart(), 1)
    assert ops[0]["p"][0] == 3.0


def test_parameter_names_are_c_identifiers() -> None:
    with pytest.raises(ValueError, match="distinct C identifiers"):
        KernelClass("Bad", "bad.h", params=("k", "k"))
    with pytest.raises(ValueError, match="distinct C identifiers"):
        KernelClass("Bad", "bad.h", params=("k-1",))
