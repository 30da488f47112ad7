"""Load compiled kernels and launch them on a particle container (ctypes on the CPU, CuPy on CUDA)."""

from __future__ import annotations

import ctypes
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from . import build, variants
from .codegen import KernelClass
from .ops import empty_ops  # noqa: F401  (re-exported: tracking, packed and envelope import it from here)


def verbose() -> bool:
    return os.environ.get("BEAMTRACK_VERBOSE", "") not in ("", "0", "false", "False")


def vprint(msg: str) -> None:
    if verbose():
        print(f"beamtrack: {msg}", file=sys.stderr)


#: the C types of exported kernel functions' parameters and results -> ctypes (every pointer is c_void_p)
_CTYPES: dict[str, Any] = {
    "void": None,
    "int64_t": ctypes.c_int64,
    "int32_t": ctypes.c_int32,
    "int": ctypes.c_int,
    "double": ctypes.c_double,
}
#: a non-static function definition at the start of a line: result type, name, parameter list
_EXPORTED = re.compile(r"^(void|int64_t|int32_t|int|double)\s+(\w+)\s*\(([^)]*)\)\s*\{", re.MULTILINE)
#: a CUDA kernel of a library source
_CUDA_KERNEL = re.compile(r'^extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(', re.MULTILINE)

#: the header defining a tracking kernel's exported functions (their ctypes signatures are read from it)
CPU_KERNEL_HEADER = Path(__file__).resolve().parent / "loops" / "cpu_kernel.h"


def c_signatures(source: str) -> dict[str, tuple[list[Any], Any]]:
    """``name -> (argtypes, restype)`` of every exported function defined in the C ``source``, read from
    its definition (``int64_t sc_prepare(double* real, int64_t cap, ...) {``), so the ctypes
    signatures of a library are never written a second time."""
    out: dict[str, tuple[list[Any], Any]] = {}
    for m in _EXPORTED.finditer(source):
        args = []
        for param in (a.strip() for a in m.group(3).split(",")):
            if not param or param == "void":
                continue
            words = [w for w in param.replace("*", " * ").split() if w not in ("const", "restrict")]
            if "*" in words:
                args.append(ctypes.c_void_p)
            elif len(words) == 2 and words[0] in _CTYPES:
                args.append(_CTYPES[words[0]])
            else:
                raise ValueError(f"{m.group(2)}: parameter {param!r} has no ctypes type")
        out[m.group(2)] = (args, _CTYPES[m.group(1)])
    return out


def bind(lib: ctypes.CDLL, signatures: Mapping[str, tuple[list[Any], Any]], target: Any) -> None:
    """Set each function's ctypes signature and make it an attribute of ``target``."""
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
        setattr(target, name, fn)


def default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class CpuKernel:
    """A compiled serial or OpenMP kernel; ``index[name]`` is the kind id of each element class.

    ``config`` is what it was compiled for (see ``variants``). Ops with a flag outside it are handed
    to a kernel of the same class list compiled with the wider config (``widen``, set by the
    selector), so a hook that misaligns an element mid-run still tracks correctly.
    """

    def __init__(
        self,
        path: Path,
        classes: Sequence[KernelClass],
        kind: str,
        origin: str = "",
        config: Mapping[str, Any] | None = None,
    ):
        self.path, self.kind, self.origin = Path(path), kind, origin
        self.classes = list(classes)
        self.index = {k.name: i for i, k in enumerate(self.classes)}
        self.config = variants.normalize(config or {})
        self.supported_flags = variants.supported_flags(self.config)
        self.widen: Callable[[dict[str, bool]], Any] | None = None
        self._wider: Any = None
        lib = ctypes.CDLL(str(self.path))
        bind(lib, _kernel_signatures(), lib)
        self._lib = lib
        self.nthreads = default_threads() if kind == "openmp" else 1

    def _for(self: Any, ops: np.ndarray) -> Any:  # self: CpuKernel or CudaKernel (which shares it)
        """The kernel that can push ``ops``: this one, or the wider one when an op needs more."""
        k = self._wider or self
        need = int(np.bitwise_or.reduce(ops["flags"])) if len(ops) else 0
        if need & ~k.supported_flags:
            cfg = variants.config_for_flags(need, k.config)
            if self.widen is None:
                raise RuntimeError(f"{self.kind} kernel ({self.origin}) was compiled for {k.config}; ops need {cfg}")
            vprint(f"ops need kernel config {cfg} (kernel has {k.config}): switching to a wider kernel")
            k = self._wider = self.widen(cfg)
        return k

    def setup(self, ops: np.ndarray, aux: np.ndarray) -> None:
        """Compute each op's coefficients (c) from its parameters and reference (in place)."""
        self._for(ops)._lib.bt_setup(ops.ctypes.data, len(ops), aux.ctypes.data)

    def track(self, pc: Any, ops: np.ndarray, aux: np.ndarray) -> None:
        """Push every particle of ``pc`` through ``ops`` (already set up)."""
        real = pc.real
        if not real.flags.c_contiguous:
            raise ValueError("particle data must be C-contiguous")
        n = real.shape[1]
        if n == 0 or len(ops) == 0:
            return
        self._for(ops)._lib.bt_track(
            real.ctypes.data,
            n,
            n,
            pc.state.ctypes.data,
            pc.s_lost.ctypes.data,
            ops.ctypes.data,
            len(ops),
            aux.ctypes.data,
            self.nthreads,
        )

    def track_batch(self, pc: Any, nvar: int, stride: int, npv: int, ops: np.ndarray, aux: np.ndarray) -> None:
        """Packed execution: push variant ``v``'s ``npv`` particles (columns ``v * stride`` on) of
        ``pc`` through its ops ``ops[v * nops : (v + 1) * nops]`` (``nops = len(ops) // nvar``,
        already set up, aux offsets into ``aux``), all variants in one launch."""
        real = pc.real
        if not real.flags.c_contiguous:
            raise ValueError("particle data must be C-contiguous")
        _check_batch(real.shape[1], nvar, stride, npv, ops)
        if nvar == 0 or npv == 0 or len(ops) == 0:
            return
        self._for(ops)._lib.bt_track_batch(
            real.ctypes.data,
            real.shape[1],
            nvar,
            stride,
            npv,
            pc.state.ctypes.data,
            pc.s_lost.ctypes.data,
            ops.ctypes.data,
            len(ops) // nvar,
            aux.ctypes.data,
            self.nthreads,
        )


@cache
def _kernel_signatures() -> dict[str, tuple[list[Any], Any]]:
    return c_signatures(CPU_KERNEL_HEADER.read_text())


def _check_batch(cap: int, nvar: int, stride: int, npv: int, ops: np.ndarray) -> None:
    if nvar < 0 or npv < 0 or stride < npv or (nvar and (nvar - 1) * stride + npv > cap):
        raise ValueError(f"{nvar} variants of {npv} particles at stride {stride} do not fit {cap} columns")
    if nvar and len(ops) % nvar:
        raise ValueError(f"{len(ops)} ops are not the same number for each of {nvar} variants")


class CudaKernel:
    """The same kernel compiled by NVRTC through CuPy's RawModule (or loaded from a prebuilt cubin at
    ``path``); data stays on the device. Ops beyond ``config`` go to a wider kernel as on the CPU."""

    block = 256

    def __init__(
        self,
        source: str | None,
        classes: Sequence[KernelClass],
        include_roots: Sequence[Path],
        origin: str = "",
        config: Mapping[str, Any] | None = None,
        path: Path | None = None,
    ):
        import cupy as cp

        self.kind, self.origin, self.classes = "cuda", origin, list(classes)
        self.index = {k.name: i for i, k in enumerate(self.classes)}
        self.config = variants.normalize(config or {})
        self.supported_flags = variants.supported_flags(self.config)
        self.widen: Callable[[dict[str, bool]], Any] | None = None
        self._wider: Any = None
        self._cp = cp
        if path is not None:
            self.module = cp.RawModule(path=str(path))
        else:
            opts = tuple(build.nvrtc_options(include_roots))
            self.module = cp.RawModule(code=source, options=opts, name_expressions=None)
        self._setup = self.module.get_function("bt_setup")
        self._track = self.module.get_function("bt_track")
        self._track_batch = self.module.get_function("bt_track_batch")

    _for = CpuKernel._for

    def setup(self, ops: np.ndarray, aux: np.ndarray) -> None:
        k = self._for(ops)
        cp = self._cp
        d_ops = cp.asarray(ops.view(np.uint8))
        d_aux = cp.asarray(aux)
        n = len(ops)
        k._setup(((n + 63) // 64,), (64,), (d_ops, np.int64(n), d_aux))
        ops.view(np.uint8)[:] = d_ops.get()

    def track(self, pc: Any, ops: np.ndarray, aux: np.ndarray) -> None:
        cp = self._cp
        n = pc.real.shape[1]
        if n == 0 or len(ops) == 0:
            return
        k = self._for(ops)
        d_ops = cp.asarray(ops.view(np.uint8))
        d_aux = cp.asarray(aux)
        grid = ((n + self.block - 1) // self.block,)
        k._track(
            grid,
            (self.block,),
            (pc.real, np.int64(n), np.int64(n), pc.state, pc.s_lost, d_ops, np.int64(len(ops)), d_aux),
        )

    def track_batch(self, pc: Any, nvar: int, stride: int, npv: int, ops: np.ndarray, aux: np.ndarray) -> None:
        """Packed execution on the device (see ``CpuKernel.track_batch``): one thread a particle."""
        cp = self._cp
        _check_batch(pc.real.shape[1], nvar, stride, npv, ops)
        if nvar == 0 or npv == 0 or len(ops) == 0:
            return
        k = self._for(ops)
        d_ops = cp.asarray(ops.view(np.uint8))
        d_aux = cp.asarray(aux)
        total = nvar * npv
        grid = ((total + self.block - 1) // self.block,)
        k._track_batch(
            grid,
            (self.block,),
            (
                pc.real,
                np.int64(pc.real.shape[1]),
                np.int64(nvar),
                np.int64(stride),
                np.int64(npv),
                pc.state,
                pc.s_lost,
                d_ops,
                np.int64(len(ops) // nvar),
                d_aux,
            ),
        )


_loaded: dict[tuple[Any, ...], Any] = {}


def forget() -> None:
    """Drop this process's loaded kernels (the next request looks at the disk again)."""
    _loaded.clear()


def load_kernel(
    kind: str,
    classes: Sequence[KernelClass],
    include_roots: Sequence[Path],
    config: Mapping[str, Any] | None = None,
    extra_classes: Sequence[KernelClass] = (),
) -> Any:
    """The kernel for exactly ``classes`` (in this order) on ``kind``, built for ``config``: from this
    process, the user cache (content-addressed by build key), or a fresh compile stored there.

    A compile holds a lock next to its output, so a second process asking for the same kernel
    waits and then loads the first one's result instead of compiling it again.
    """
    cfg = variants.normalize(config or {})
    roots = list(include_roots)
    key = (kind, tuple(classes), tuple(extra_classes), tuple(sorted(cfg.items())), tuple(roots))
    if key in _loaded:
        return _loaded[key]
    src = variants.generate(kind, classes, cfg, extra_classes)
    if kind == "cuda":
        vprint(f"compiling cuda kernel with NVRTC for {', '.join(k.name for k in classes)} (CuPy caches the result)")
        t0 = time.perf_counter()
        kernel: Any = CudaKernel(src, classes, roots, origin="nvrtc", config=cfg)
        vprint(f"cuda kernel ready in {time.perf_counter() - t0:.2f} s")
    else:
        meta = {
            "config": cfg,
            "classes": [k.name for k in classes],
            "extra_classes": [k.name for k in extra_classes],
        }
        so, origin = compiled(src, kind, roots, f"config {cfg}, classes {', '.join(k.name for k in classes)}", meta)
        kernel = CpuKernel(so, classes, kind, origin=origin, config=cfg)
    _loaded[key] = kernel
    return kernel


def compiled(
    source: str, kind: str, include_roots: Sequence[Path], what: str, meta: Mapping[str, Any], tag: str = ""
) -> tuple[Path, str]:
    """The shared object of ``source`` for a CPU ``kind`` in the user cache (content-addressed by build
    key, ``tag`` in its name), compiled now when absent, and where it came from (``cache:`` or
    ``compiled:``). A compile holds a lock next to its output, so a second process asking for the same
    library waits and then loads the first one's result; ``meta`` goes into its metadata file."""
    src_hash = build.source_hash(source, include_roots, kind)
    digest = build.build_key(src_hash, kind)
    so = build.cache_dir() / digest[:2] / f"{digest}{'.' + tag if tag else ''}.{kind}.so"
    if so.exists():
        vprint(f"using cached {kind} {tag or 'kernel'} {so} (compiled earlier)")
        return so, f"cache:{so}"
    with build.file_lock(so.with_name(f"{so.name}.lock")):
        if so.exists():
            vprint(f"using cached {kind} {tag or 'kernel'} {so}: another process compiled it while this one waited")
            return so, f"cache:{so}"
        vprint(f"compile started: {kind} {tag or 'kernel'}, {what}")
        t0 = time.perf_counter()
        out = build.compile_cpu(source, kind, include_roots, so)
        out.update(meta, kind=kind, source_hash=src_hash, build_key=digest)
        build.write_metadata(so.with_suffix(".json"), out)
        vprint(f"compiled in {time.perf_counter() - t0:.2f} s -> {so}")
        return so, f"compiled:{so}"


class CLibrary:
    """A C library of the kernel system other than a tracking kernel (space charge, ...): every exported
    function of its source is an attribute, with the ctypes signature of its C definition."""

    def __init__(self, path: Path, source: str, kind: str, origin: str):
        self.path, self.kind, self.origin = Path(path), kind, origin
        self._lib = ctypes.CDLL(str(path))
        bind(self._lib, c_signatures(source), self)


@cache
def load_library(name: str, source: Path, kind: str) -> CLibrary:
    """The serial or OpenMP build of the C library ``source`` (its includes resolved in the engine's
    include root), through the same user cache and compile as the tracking kernels."""
    if kind not in ("serial", "openmp"):
        raise ValueError(f"not a CPU kind: {kind!r}")
    text = source.read_text()
    so, origin = compiled(text, kind, [build.ENGINE_INCLUDE_ROOT], str(source.name), {"classes": [name]}, tag=name)
    return CLibrary(so, text, kind, origin)


class CudaLibrary:
    """The CUDA build of a library source through CuPy's RawModule (NVRTC, the tracking kernels'
    options); every ``extern "C" __global__`` kernel of the source is launched by name."""

    block = 256

    def __init__(self, source: Path):
        import cupy as cp

        self.kind, self.origin = "cuda", f"nvrtc:{source.name}"
        text = source.read_text()
        self.module = cp.RawModule(code=text, options=tuple(build.nvrtc_options([build.ENGINE_INCLUDE_ROOT])))
        self.fns = {name: self.module.get_function(name) for name in _CUDA_KERNEL.findall(text)}

    def launch(self, name: str, n: int, *args: Any) -> None:
        """Run kernel ``name`` on ``n`` threads (blocks of ``block``)."""
        if n <= 0:
            return
        self.fns[name](((n + self.block - 1) // self.block,), (self.block,), args)


@cache
def load_cuda_library(source: Path) -> CudaLibrary:
    return CudaLibrary(source)


def load_file(
    kind: str,
    path: Path,
    classes: Sequence[KernelClass],
    include_roots: Sequence[Path],
    config: Mapping[str, Any],
    origin: str,
) -> Any:
    """A kernel from an already built file (a prebuilt shared object or cubin), kept for this process."""
    key = ("file", str(path), kind)
    if key not in _loaded:
        if kind == "cuda":
            _loaded[key] = CudaKernel(None, classes, include_roots, origin=origin, config=config, path=path)
        else:
            _loaded[key] = CpuKernel(path, classes, kind, origin=origin, config=config)
    return _loaded[key]
