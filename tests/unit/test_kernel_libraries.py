"""The kernel system's loader for C libraries other than tracking kernels (space charge, reduced
diagnostics): one compile and cache path (kernels.runtime.compiled), the ctypes signatures read from the C definitions (c_signatures)."""

from __future__ import annotations

import ctypes

import pytest
from beamtrack.engine.diagnostics import kernels as reduced_kernels
from beamtrack.engine.kernels import runtime
from beamtrack.engine.spacecharge.backend import CPU_SOURCE, CUDA_SOURCE

pytestmark = pytest.mark.unit


def test_signatures_from_c_definitions() -> None:
    src = """
static int helper(int a) { return a; }
int64_t f(double* restrict real, const int32_t* state, int64_t n,
          double kick, int32_t flag)
{
    return 0;
}
void g(void) {}
"""
    sig = runtime.c_signatures(src)
    p, i64, i32, d = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_double
    assert sig == {"f": ([p, p, i64, d, i32], i64), "g": ([], None)}
    with pytest.raises(ValueError, match="no ctypes type"):
        runtime.c_signatures("void h(float x) {}")


def test_tracking_kernel_signatures_come_from_its_header() -> None:
    sig = runtime.c_signatures(runtime.CPU_KERNEL_HEADER.read_text())
    assert set(sig) == {"bt_setup", "bt_track", "bt_track_batch"}
    assert sig["bt_track"][0][-1] is ctypes.c_int32  # nthreads


@pytest.mark.parametrize("kind", ["serial", "openmp"])
def test_space_charge_library_binds_every_exported_function(kind: str) -> None:
    lib = runtime.load_library("spacecharge", CPU_SOURCE, kind)
    names = runtime.c_signatures(CPU_SOURCE.read_text())
    assert {"sc_prepare", "sc_deposit3d", "sc_gather_push3d", "sc_push2d", "sc_gauss3d_push"} <= set(names)
    for name, (args, res) in names.items():
        fn = getattr(lib, name)
        assert fn.argtypes == args and fn.restype == res
    assert lib.origin.startswith(("cache:", "compiled:"))


@pytest.mark.parametrize("kind", ["serial", "openmp"])
def test_reduced_diagnostics_library_is_loaded_by_the_kernel_system(kind: str) -> None:
    """diagnostics.kernels has no compile path of its own: its library is runtime.load_library's, with
    the ctypes signatures of c/reduced_cpu.c's definitions (the sums: nthreads an int32 last; the
    characteristics: no result, four arrays and their count)."""
    k = reduced_kernels.load_cpu(kind)
    assert k.lib is runtime.load_library("reduced", reduced_kernels.CPU_SOURCE, kind)
    names = runtime.c_signatures(reduced_kernels.CPU_SOURCE.read_text())
    assert set(names) == {"rbc_sums", "rbc_sums_batch", "rbc_characteristics"}
    for name, (args, res) in names.items():
        fn = getattr(k.lib, name)
        assert fn.argtypes == args and fn.restype == res
        if name == "rbc_characteristics":
            assert res is None and args == [ctypes.c_void_p, ctypes.c_int64, *[ctypes.c_void_p] * 3]
        else:
            assert res is ctypes.c_int64 and args[-1] is ctypes.c_int32
    assert k.origin.startswith(("cache:", "compiled:")) and ".reduced." in k.path.name


def test_cuda_library_kernels_are_found_by_name() -> None:
    found = runtime._CUDA_KERNEL.findall(CUDA_SOURCE.read_text())
    assert "sc_gather_push3d_k" in found and "sc_gauss2p5d_push_k" in found and len(found) == len(set(found)) >= 14
