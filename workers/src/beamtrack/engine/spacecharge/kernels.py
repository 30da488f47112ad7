"""Load the space-charge C kernels: compiled for the CPU through the engine's build cache, or for CUDA
through CuPy's RawModule (NVRTC). Mirrors ``kernels.runtime.load_kernel``: one shared object per
(source, headers, compiler, flags) content hash under ``build.cache_dir()``."""

from __future__ import annotations

import ctypes
import time
from functools import cache
from pathlib import Path
from typing import Any

from ..kernels import build
from ..kernels.runtime import vprint

C_DIR = Path(__file__).resolve().parent / "c"
CPU_SOURCE = C_DIR / "sc_cpu.c"
CUDA_SOURCE = C_DIR / "sc_cuda.cu"

_p, _i64, _i32, _d = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_double

#: ctypes signatures of the exported CPU functions (see c/sc_cpu.c)
_SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "sc_prepare": ([_p, _i64, _i64, _p, _i32, _d, _p, _i32], _i64),
    "sc_to_fixed_s_all": ([_p, _i64, _i64, _p, _d, _i32], None),
    "sc_deposit3d": ([_p, _i64, _i64, _p, _p, _d, _i32, _p, _p, _i64, _i64, _i64, _p, _p, _i32], _i64),
    "sc_deposit2d": ([_p, _i64, _i64, _p, _p, _d, _i32, _p, _p, _i64, _i64, _p, _p, _i32], _i64),
    "sc_deposit_line": ([_p, _i64, _i64, _p, _p, _d, _d, _d, _i64, _p], None),
    "sc_grad3d": ([_p, _i64, _i64, _i64, _p, _p, _i32], None),
    "sc_grad2d": ([_p, _i64, _i64, _p, _p, _p, _i32], None),
    "sc_gather_push3d": ([_p, _i64, _i64, _p, _i32, _p, _p, _i64, _i64, _i64, _p, _d, _i32, _d, _p, _i32], None),
    "sc_gather_push2d": (
        [_p, _i64, _i64, _p, _i32, _p, _p, _i64, _i64, _p, _p, _p, _d, _d, _p, _p, _d, _d, _i64, _p, _i32],
        None,
    ),
    "sc_push3d": ([_p, _i64, _i64, _p, _p, _d, _i32, _d, _i32], None),
    "sc_push2d": ([_p, _i64, _i64, _p, _p, _d, _d, _p, _p, _d, _d, _i64, _i32], None),
    "sc_igf3d": ([_i64, _i64, _i64, _d, _d, _d, _d, _p, _p, _i32], None),
    "sc_igf2d": ([_i64, _i64, _d, _d, _d, _p, _p, _i32], None),
    "sc_census": ([_p, _p, _i64, _p, _i32], None),
    "sc_mul_folded": ([_p, _i64, _i64, _i64, _p, _i32], None),
    "sc_wmoments": ([_p, _i64, _i64, _p, _p, _i32], None),
    "sc_gauss3d_push": ([_p, _i64, _i64, _p, _i32, _p, _d, _p, _d, _i32, _d, _p, _i32], None),
    "sc_gauss2p5d_push": (
        [_p, _i64, _i64, _p, _i32, _d, _d, _d, _p, _p, _d, _d, _i64, _d, _d, _d, _d, _i32, _d, _p, _i32],
        None,
    ),
}


class CpuSpaceChargeKernels:
    """ctypes handle on the compiled serial or OpenMP space-charge library."""

    def __init__(self, path: Path, kind: str, origin: str):
        self.path, self.kind, self.origin = path, kind, origin
        lib = ctypes.CDLL(str(path))
        for name, (args, res) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = res
            setattr(self, name, fn)
        self._lib = lib


@cache
def load_cpu(kind: str) -> CpuSpaceChargeKernels:
    """The serial or OpenMP library: from the disk cache, or compiled now (atomically) and cached."""
    if kind not in ("serial", "openmp"):
        raise ValueError(f"not a CPU kind: {kind!r}")
    roots = [build.ENGINE_INCLUDE_ROOT]
    src = CPU_SOURCE.read_text()
    digest = build.source_hash(src, roots, kind)
    so = build.cache_dir() / digest[:2] / f"{digest}.spacecharge.{kind}.so"
    if so.exists():
        vprint(f"using cached {kind} space-charge kernels {so.name}")
        origin = f"cache:{so}"
    else:
        vprint(f"compiling {kind} space-charge kernels")
        t0 = time.perf_counter()
        meta = build.compile_cpu(src, kind, roots, so)
        meta.update(kind=kind, classes=["spacecharge"], source_hash=digest)
        build.write_metadata(so.with_suffix(".json"), meta)
        vprint(f"compiled in {time.perf_counter() - t0:.2f} s -> {so}")
        origin = f"compiled:{so}"
    return CpuSpaceChargeKernels(so, kind, origin)


class CudaSpaceChargeKernels:
    """The same kernels compiled by NVRTC through CuPy (data stays on the device)."""

    block = 256
    names = (
        "sc_to_fixed_t_k",
        "sc_to_fixed_s_k",
        "sc_deposit3d_k",
        "sc_deposit2d_k",
        "sc_deposit_line_k",
        "sc_grad3d_k",
        "sc_grad2d_k",
        "sc_gather_push3d_k",
        "sc_gather_push2d_k",
        "sc_igf3d_corners_k",
        "sc_igf3d_diff_k",
        "sc_igf2d_k",
        "sc_gauss3d_push_k",
        "sc_gauss2p5d_push_k",
    )

    def __init__(self) -> None:
        import cupy as cp

        self.kind, self.origin = "cuda", "nvrtc"
        opts = (f"-I{build.ENGINE_INCLUDE_ROOT}", "--std=c++14")
        self.module = cp.RawModule(code=CUDA_SOURCE.read_text(), options=opts)
        self.fns = {name: self.module.get_function(name) for name in self.names}

    def launch(self, name: str, n: int, *args: Any) -> None:
        if n <= 0:
            return
        self.fns[name](((n + self.block - 1) // self.block,), (self.block,), args)


@cache
def load_cuda() -> CudaSpaceChargeKernels:
    return CudaSpaceChargeKernels()
