"""Particle <-> grid operations of the space-charge step on three backends with one interface:

- ``CpuBackend``: the C kernels of ``c/sc_cpu.c`` (serial, or OpenMP with per-thread grids), scipy.fft;
- ``CudaBackend``: the same per-particle code from ``c/sc_cuda.cu`` through CuPy (atomics), cupy.fft;
- ``NumpyBackend``: a plain-NumPy implementation of the same algorithm (bincount deposition, fancy-index
  gather), used as the test oracle and the benchmark baseline.

Arrays: ``real`` is the beam's (7, cap) block, ``state`` its state vector, ``n`` the particles held.
Grids are C-ordered; ``lo``/``inv_d`` give the position of node 0 and the inverse cell size per axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .poisson import COULOMB

#: the space-charge C sources, compiled and loaded by the kernel system (``kernels.runtime``)
C_DIR = Path(__file__).resolve().parent / "c"
CPU_SOURCE = C_DIR / "sc_cpu.c"
CUDA_SOURCE = C_DIR / "sc_cuda.cu"


class CpuBackend:
    def __init__(self, kind: str, nthreads: int):
        from ..kernels.runtime import load_library

        self.kind, self.nthreads = kind, (max(1, int(nthreads)) if kind == "openmp" else 1)
        # sc_*: bound by runtime.bind, from the C definitions
        self.k: Any = load_library("spacecharge", CPU_SOURCE, kind)
        self.xp = np
        import scipy.fft as sfft

        self.fft, self.fft_kw, self.use_dct = sfft, {"workers": self.nthreads}, True
        self._scratch = np.empty(0)

    #: doubles after the last node of a 3D deposition grid (c/sc_cpu.c SC_PAD)
    PAD = 4

    def _scratch_for(self, ng: int) -> np.ndarray:
        need = (ng + self.PAD) * (self.nthreads - 1)
        if self._scratch.size < need:
            self._scratch = np.empty(need)
        return self._scratch

    def census(self, real: np.ndarray, state: np.ndarray, n: int) -> tuple[int, float]:
        """(alive particles, sum of their weights)."""
        out = np.empty(2)
        self.k.sc_census(state.ctypes.data, real[6].ctypes.data, n, out.ctypes.data, self.nthreads)
        return int(out[0]), float(out[1])

    @staticmethod
    def _vec(a: Any) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.float64)

    def prepare(
        self, real: np.ndarray, state: np.ndarray, n: int, to_fixed_t: bool, ptd: float
    ) -> tuple[int, np.ndarray]:
        mm = np.empty(6)
        alive = self.k.sc_prepare(
            real.ctypes.data, real.shape[1], n, state.ctypes.data, int(to_fixed_t), ptd, mm.ctypes.data, self.nthreads
        )
        return int(alive), mm

    def to_fixed_s_all(self, real: np.ndarray, state: np.ndarray, n: int, pzd: float) -> None:
        self.k.sc_to_fixed_s_all(real.ctypes.data, real.shape[1], n, state.ctypes.data, pzd, self.nthreads)

    def deposit(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        has_w: bool,
        wscale: float,
        order: int,
        lo: np.ndarray,
        inv_d: np.ndarray,
        shape: tuple[int, ...],
    ) -> np.ndarray:
        ng = int(np.prod(shape))
        rho = np.empty(ng + self.PAD)[:ng].reshape(shape)
        cap = real.shape[1]
        w = real[6].ctypes.data if has_w else None
        lo, inv_d = self._vec(lo), self._vec(inv_d)
        scratch = self._scratch_for(ng)
        fn = self.k.sc_deposit3d if len(shape) == 3 else self.k.sc_deposit2d
        fn(
            real.ctypes.data,
            cap,
            n,
            state.ctypes.data,
            w,
            wscale,
            order,
            lo.ctypes.data,
            inv_d.ctypes.data,
            *shape,
            rho.ctypes.data,
            scratch.ctypes.data,
            self.nthreads,
        )
        return rho

    def deposit_line(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        has_w: bool,
        wscale: float,
        bin_min: float,
        bin_size: float,
        nb: int,
    ) -> np.ndarray:
        out = np.empty(nb)
        self.k.sc_deposit_line(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            real[6].ctypes.data if has_w else None,
            wscale,
            bin_min,
            bin_size,
            nb,
            out.ctypes.data,
        )
        return out

    def grad(self, phi: np.ndarray, h: np.ndarray) -> Any:
        """-grad(phi): 3D as one interleaved (n0, n1, n2, 4) array (Ex, Ey, Ez, 0) for the gather, 2D as [Ex, Ey]."""
        h = self._vec(h)
        if phi.ndim == 3:
            F = np.empty((*phi.shape, 4))
            self.k.sc_grad3d(phi.ctypes.data, *phi.shape, h.ctypes.data, F.ctypes.data, self.nthreads)
            return F
        E = [np.empty_like(phi) for _ in range(phi.ndim)]
        self.k.sc_grad2d(phi.ctypes.data, *phi.shape, h.ctypes.data, *(e.ctypes.data for e in E), self.nthreads)
        return E

    @staticmethod
    def field_list(E: Any) -> list[np.ndarray]:
        """The field components of ``grad``'s result as a list of node arrays (views)."""
        return [E[..., c] for c in range(3)] if isinstance(E, np.ndarray) else E

    def mul_folded(self, F: np.ndarray, D: np.ndarray) -> None:
        """F *= the even kernel's spectrum given by its half D (see ``OpenPoissonSolver.green_hat``), in place."""
        m = F.shape if F.ndim == 3 else (F.shape[0], 1, F.shape[1])
        self.k.sc_mul_folded(F.ctypes.data, *m, D.ctypes.data, self.nthreads)

    def gather_push3d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        order: int,
        lo: np.ndarray,
        inv_d: np.ndarray,
        E: np.ndarray,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        lo, inv_d = self._vec(lo), self._vec(inv_d)
        self.k.sc_gather_push3d(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            order,
            lo.ctypes.data,
            inv_d.ctypes.data,
            *E.shape[:3],
            E.ctypes.data,
            kick,
            int(fixed_t),
            pzd,
            None if eout is None else eout.ctypes.data,
            self.nthreads,
        )

    def gather_push2d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        order: int,
        lo: np.ndarray,
        inv_d: np.ndarray,
        ex: np.ndarray,
        ey: np.ndarray,
        phi: np.ndarray,
        kxy: float,
        kt: float,
        prof: np.ndarray | None,
        slope: np.ndarray | None,
        bin_min: float,
        bin_size: float,
        eout: np.ndarray | None = None,
    ) -> None:
        lo, inv_d = self._vec(lo), self._vec(inv_d)
        nb = 0 if prof is None else prof.size
        self.k.sc_gather_push2d(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            order,
            lo.ctypes.data,
            inv_d.ctypes.data,
            *ex.shape,
            ex.ctypes.data,
            ey.ctypes.data,
            phi.ctypes.data,
            kxy,
            kt,
            None if prof is None else prof.ctypes.data,
            None if slope is None else slope.ctypes.data,
            bin_min,
            bin_size,
            nb,
            None if eout is None else eout.ctypes.data,
            self.nthreads,
        )

    def push3d(
        self, real: np.ndarray, state: np.ndarray, n: int, e: np.ndarray, kick: float, fixed_t: bool, pzd: float
    ) -> None:
        self.k.sc_push3d(
            real.ctypes.data, real.shape[1], n, state.ctypes.data, e.ctypes.data, kick, int(fixed_t), pzd, self.nthreads
        )

    def push2d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        e: np.ndarray,
        kxy: float,
        kt: float,
        prof: np.ndarray | None,
        slope: np.ndarray | None,
        bin_min: float,
        bin_size: float,
    ) -> None:
        nb = 0 if prof is None else prof.size
        self.k.sc_push2d(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            e.ctypes.data,
            kxy,
            kt,
            None if prof is None else prof.ctypes.data,
            None if slope is None else slope.ctypes.data,
            bin_min,
            bin_size,
            nb,
            self.nthreads,
        )

    def igf(self, shape: tuple[int, ...], cell: tuple[float, ...]) -> np.ndarray:
        G = np.empty(shape)
        P = np.empty(tuple(s + 1 for s in shape))
        fn = self.k.sc_igf3d if len(shape) == 3 else self.k.sc_igf2d
        fn(*shape, *cell, COULOMB, P.ctypes.data, G.ctypes.data, self.nthreads)
        return G

    # --- analytic Gaussian models (Gauss3D, Gauss2p5D) -------------------------------------------------
    def wmoments(self, real: np.ndarray, state: np.ndarray, n: int) -> np.ndarray:
        """(sum w, <x>, <y>, <t>, sig_x, sig_y, sig_t) of the alive particles, weighted."""
        out = np.empty(7)
        self.k.sc_wmoments(real.ctypes.data, real.shape[1], n, state.ctypes.data, out.ctypes.data, self.nthreads)
        return out

    def gauss3d_push(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        nint: int,
        sig: Any,
        gamma: float,
        scale: Any,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        sig, scale = self._vec(sig), self._vec(scale)
        self.k.sc_gauss3d_push(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            nint,
            sig.ctypes.data,
            gamma,
            scale.ctypes.data,
            kick,
            int(fixed_t),
            pzd,
            None if eout is None else eout.ctypes.data,
            self.nthreads,
        )

    def gauss2p5d_push(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        nint: int,
        delta: float,
        sigx: float,
        sigy: float,
        prof: np.ndarray,
        slope: np.ndarray,
        bin_min: float,
        bin_size: float,
        lam_scale: float,
        slope_scale: float,
        pz_const: float,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        prof, slope = self._vec(prof), self._vec(slope)
        self.k.sc_gauss2p5d_push(
            real.ctypes.data,
            real.shape[1],
            n,
            state.ctypes.data,
            nint,
            delta,
            sigx,
            sigy,
            prof.ctypes.data,
            slope.ctypes.data,
            bin_min,
            bin_size,
            slope.size,
            lam_scale,
            slope_scale,
            pz_const,
            kick,
            int(fixed_t),
            pzd,
            None if eout is None else eout.ctypes.data,
            self.nthreads,
        )

    def synchronize(self) -> None:
        return None


class CudaBackend:
    def __init__(self) -> None:
        import cupy

        from ..kernels.runtime import load_cuda_library

        self.kind, self.nthreads, self.xp = "cuda", 1, cupy
        self.k = load_cuda_library(CUDA_SOURCE)
        self.fft_kw: dict[str, Any] = {}
        self.fft, self.use_dct = cupy.fft, False

    def census(self, real: Any, state: Any, n: int) -> tuple[int, float]:
        alive = state[:n] == 0
        return int(alive.sum()), float(self.xp.where(alive, real[6, :n], 0.0).sum())

    @staticmethod
    def field_list(E: Any) -> list[Any]:
        return E

    def prepare(self, real: Any, state: Any, n: int, to_fixed_t: bool, ptd: float) -> tuple[int, np.ndarray]:
        cp = self.xp
        if to_fixed_t:
            self.k.launch("sc_to_fixed_t_k", n, real, np.int64(real.shape[1]), np.int64(n), state, np.float64(ptd))
        alive = state[:n] == 0
        na = int(alive.sum())
        if na == 0:
            return 0, np.zeros(6)
        big = np.finfo(np.float64).max
        lows = [float(cp.where(alive, real[r, :n], big).min()) for r in range(3)]
        highs = [float(cp.where(alive, real[r, :n], -big).max()) for r in range(3)]
        return na, np.array(lows + highs)

    def to_fixed_s_all(self, real: Any, state: Any, n: int, pzd: float) -> None:
        self.k.launch("sc_to_fixed_s_k", n, real, np.int64(real.shape[1]), np.int64(n), state, np.float64(pzd))

    def deposit(
        self,
        real: Any,
        state: Any,
        n: int,
        has_w: bool,
        wscale: float,
        order: int,
        lo: Any,
        inv_d: Any,
        shape: tuple[int, ...],
    ) -> Any:
        cp = self.xp
        rho = cp.zeros(shape, dtype=cp.float64)
        lo, inv_d = cp.asarray(lo, dtype=cp.float64), cp.asarray(inv_d, dtype=cp.float64)
        name = "sc_deposit3d_k" if len(shape) == 3 else "sc_deposit2d_k"
        self.k.launch(
            name,
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(has_w),
            np.float64(wscale),
            np.int32(order),
            lo,
            inv_d,
            *map(np.int64, shape),
            rho,
        )
        return rho

    def deposit_line(
        self, real: Any, state: Any, n: int, has_w: bool, wscale: float, bin_min: float, bin_size: float, nb: int
    ) -> Any:
        out = self.xp.zeros(nb, dtype=self.xp.float64)
        self.k.launch(
            "sc_deposit_line_k",
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(has_w),
            np.float64(wscale),
            np.float64(bin_min),
            np.float64(bin_size),
            np.int64(nb),
            out,
        )
        return out

    def grad(self, phi: Any, h: Any) -> list[Any]:
        E = [self.xp.empty_like(phi) for _ in range(phi.ndim)]
        name = "sc_grad3d_k" if phi.ndim == 3 else "sc_grad2d_k"
        self.k.launch(name, phi.size, phi, *map(np.int64, phi.shape), *map(np.float64, h), *E)
        return E

    def gather_push3d(
        self,
        real: Any,
        state: Any,
        n: int,
        order: int,
        lo: Any,
        inv_d: Any,
        E: list[Any],
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: Any = None,
    ) -> None:
        cp = self.xp
        lo, inv_d = cp.asarray(lo, dtype=cp.float64), cp.asarray(inv_d, dtype=cp.float64)
        dummy = eout if eout is not None else cp.empty(1)
        self.k.launch(
            "sc_gather_push3d_k",
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(order),
            lo,
            inv_d,
            *map(np.int64, E[0].shape),
            *E,
            np.float64(kick),
            np.int32(fixed_t),
            np.float64(pzd),
            np.int32(eout is not None),
            dummy,
        )

    def gather_push2d(
        self,
        real: Any,
        state: Any,
        n: int,
        order: int,
        lo: Any,
        inv_d: Any,
        ex: Any,
        ey: Any,
        phi: Any,
        kxy: float,
        kt: float,
        prof: Any,
        slope: Any,
        bin_min: float,
        bin_size: float,
        eout: Any = None,
    ) -> None:
        cp = self.xp
        lo, inv_d = cp.asarray(lo, dtype=cp.float64), cp.asarray(inv_d, dtype=cp.float64)
        one = cp.zeros(1)
        nb = 0 if prof is None else int(prof.size)
        self.k.launch(
            "sc_gather_push2d_k",
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(order),
            lo,
            inv_d,
            *map(np.int64, ex.shape),
            ex,
            ey,
            phi,
            np.float64(kxy),
            np.float64(kt),
            np.int32(prof is not None),
            one if prof is None else prof,
            one if slope is None else slope,
            np.float64(bin_min),
            np.float64(bin_size),
            np.int64(nb),
            np.int32(eout is not None),
            one if eout is None else eout,
        )

    def igf(self, shape: tuple[int, ...], cell: tuple[float, ...]) -> Any:
        cp = self.xp
        G = cp.empty(shape, dtype=cp.float64)
        n = int(np.prod(shape))
        if len(shape) == 3:
            P = cp.empty(tuple(s + 1 for s in shape), dtype=cp.float64)
            self.k.launch("sc_igf3d_corners_k", P.size, *map(np.int64, shape), *map(np.float64, cell), P)
            self.k.launch("sc_igf3d_diff_k", n, *map(np.int64, shape), np.float64(COULOMB), P, G)
        else:
            self.k.launch("sc_igf2d_k", n, *map(np.int64, shape), *map(np.float64, cell), np.float64(COULOMB), G)
        return G

    def wmoments(self, real: Any, state: Any, n: int) -> np.ndarray:
        xp = self.xp
        w = xp.where(state[:n] == 0, real[6, :n], 0.0)
        sw = float(w.sum())
        if not sw > 0.0:
            return np.zeros(7)
        m = [float((w * real[r, :n]).sum()) / sw for r in range(3)]
        sd = [float((w * (real[r, :n] - m[r]) ** 2).sum()) / sw for r in range(3)]
        return np.array([sw, *m, *(v**0.5 for v in sd)])

    def gauss3d_push(
        self,
        real: Any,
        state: Any,
        n: int,
        nint: int,
        sig: Any,
        gamma: float,
        scale: Any,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: Any = None,
    ) -> None:
        cp = self.xp
        sig, scale = cp.asarray(sig, dtype=cp.float64), cp.asarray(scale, dtype=cp.float64)
        self.k.launch(
            "sc_gauss3d_push_k",
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(nint),
            sig,
            np.float64(gamma),
            scale,
            np.float64(kick),
            np.int32(fixed_t),
            np.float64(pzd),
            np.int32(eout is not None),
            eout if eout is not None else cp.empty(1),
        )

    def gauss2p5d_push(
        self,
        real: Any,
        state: Any,
        n: int,
        nint: int,
        delta: float,
        sigx: float,
        sigy: float,
        prof: Any,
        slope: Any,
        bin_min: float,
        bin_size: float,
        lam_scale: float,
        slope_scale: float,
        pz_const: float,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: Any = None,
    ) -> None:
        cp = self.xp
        prof, slope = cp.ascontiguousarray(prof, dtype=cp.float64), cp.ascontiguousarray(slope, dtype=cp.float64)
        self.k.launch(
            "sc_gauss2p5d_push_k",
            n,
            real,
            np.int64(real.shape[1]),
            np.int64(n),
            state,
            np.int32(nint),
            np.float64(delta),
            np.float64(sigx),
            np.float64(sigy),
            prof,
            slope,
            np.float64(bin_min),
            np.float64(bin_size),
            np.int64(slope.size),
            np.float64(lam_scale),
            np.float64(slope_scale),
            np.float64(pz_const),
            np.float64(kick),
            np.int32(fixed_t),
            np.float64(pzd),
            np.int32(eout is not None),
            eout if eout is not None else cp.empty(1),
        )

    def synchronize(self) -> None:
        self.xp.cuda.Device().synchronize()


# --- plain NumPy twin ---------------------------------------------------------------------------------
def np_shape(order: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First node index (n,) and weights (n, order+1) of the nodal shape of ``order`` at grid coordinate u."""
    if order == 1:
        i = np.floor(u)
        f = u - i
        return i.astype(np.int64), np.stack([1.0 - f, f], axis=1)
    if order == 2:
        j = np.floor(u + 0.5)
        f = u - j
        return j.astype(np.int64) - 1, np.stack([0.5 * (0.5 - f) ** 2, 0.75 - f * f, 0.5 * (0.5 + f) ** 2], axis=1)
    i = np.floor(u)
    f = u - i
    g = 1.0 - f
    w = np.stack([g**3 / 6.0, 2.0 / 3.0 - f * f + 0.5 * f**3, 2.0 / 3.0 - g * g + 0.5 * g**3, f**3 / 6.0], axis=1)
    return i.astype(np.int64) - 1, w


def np_to_fixed_t(ptd: float, x: Any, y: Any, t: Any, px: Any, py: Any, pt: Any) -> tuple[Any, ...]:
    """ImpactX ToFixedT, vectorised; returns (x, y, z, px, py, pz)."""
    argd = -1.0 + ptd * ptd
    pzdf = np.sqrt(argd) if argd > 0 else 1e-12
    ux, uy, ut = px * pzdf, py * pzdf, pt * pzdf
    arg = -1.0 + (ptd + ut) ** 2 - ux**2 - uy**2
    pzf = np.where(arg > 0, np.sqrt(np.abs(arg)), 1e-12)
    return (x + ux * t / (ptd + ut), y + uy * t / (ptd + ut), pzf * t / (ptd + ut), px, py, (pzf - pzdf) / pzdf)


def np_to_fixed_s(pzd: float, x: Any, y: Any, z: Any, px: Any, py: Any, pz: Any) -> tuple[Any, ...]:
    """ImpactX ToFixedS, vectorised; returns (x, y, t, px, py, pt)."""
    ptdf = -np.sqrt(1.0 + pzd * pzd)
    ux, uy, uz = px * pzd, py * pzd, pz * pzd
    ptf = -np.sqrt(1.0 + (pzd + uz) ** 2 + ux**2 + uy**2)
    return (x - ux * z / (pzd + uz), y - uy * z / (pzd + uz), ptf * z / (pzd + uz), px, py, (ptf - ptdf) / pzd)


def np_igf3d_corner(x: Any, y: Any, z: Any) -> Any:
    r = np.sqrt(x * x + y * y + z * z)
    return (
        -0.5 * z * z * np.arctan(x * y / (z * r))
        - 0.5 * y * y * np.arctan(x * z / (y * r))
        - 0.5 * x * x * np.arctan(y * z / (x * r))
        + y * z * np.arcsinh(x / np.sqrt(y * y + z * z))
        + x * z * np.arcsinh(y / np.sqrt(x * x + z * z))
        + x * y * np.arcsinh(z / np.sqrt(x * x + y * y))
    )


def np_igf2d_corner(x: Any, y: Any) -> Any:
    return 3.0 * x * y - x * x * np.arctan(y / x) - y * y * np.arctan(x / y) - x * y * np.log(x * x + y * y)


def _simpson_weights(nint: int) -> np.ndarray:
    """Composite Simpson weights (1, 4, 2, ..., 4, 1) on nint points (made odd, as ImpactX)."""
    nint += 1 - nint % 2
    w = np.where(np.arange(nint) % 2 == 1, 4.0, 2.0)
    w[0] = w[-1] = 1.0
    return w


def np_gauss3d_integrals(nint: int, x: Any, y: Any, z: Any, sig: Any, gamma: float) -> list[np.ndarray]:
    """sc_gauss3d_integrals (c/sc_common.h) for arrays of positions."""
    wt = _simpson_weights(nint)
    h = 1.0 / (wt.size - 1)
    u2 = (np.arange(wt.size) * h)[:, None] ** 2
    A2, B2 = (sig[0] / sig[1]) ** 2, (sig[0] / (sig[2] * gamma)) ** 2
    t, b = A2 + (1.0 - A2) * u2, B2 + (1.0 - B2) * u2
    q = (x / sig[0]) ** 2 + (y / sig[1]) ** 2 / t + (z / sig[2]) ** 2 / b
    f = u2 * np.exp(-0.5 * u2 * q) / (np.sqrt(t) * np.sqrt(b))
    return [h / 3.0 * (wt @ g) for g in (f, f / t, f / b)]


def np_gauss2d_integrals(delta: float, nint: int, x: Any, y: Any, sx: float, sy: float) -> list[np.ndarray]:
    """sc_gauss2d_integrals (c/sc_common.h) for arrays of positions."""
    wt = _simpson_weights(nint)
    h = (1.0 - delta) / (wt.size - 1)
    X, Y = x / sx, y / sy
    A = sx / sy
    td = A * A + (1.0 - A * A) * delta * delta
    a = -0.5 * (X * X + Y * Y / td)
    gd = np.exp(delta * delta * a)
    trap = [
        0.5 * delta * delta * gd / np.sqrt(td),
        0.5 * delta * delta * gd / td**1.5,
        0.5 * delta * delta * a / np.sqrt(td),
    ]
    u = (delta + np.arange(wt.size) * h)[:, None]
    t = A * A + (1.0 - A * A) * u * u
    g = np.exp(-0.5 * u * u * (X * X + Y * Y / t))
    s = [wt @ (u * g / np.sqrt(t)), wt @ (u * g / t**1.5), wt @ ((g - 1.0) / (u * np.sqrt(t)))]
    return [
        2 * A * X * (trap[0] + s[0] * h) / (3 * sx),
        2 * A * Y * (trap[1] + s[1] * h) / (3 * sy),
        2 * A * (trap[2] + s[2] * h) / 3,
    ]


class NumpyBackend:
    """The same algorithm in plain NumPy (numpy.fft, no compiled code)."""

    def __init__(self) -> None:
        self.kind, self.nthreads, self.xp = "numpy", 1, np
        self.fft_kw: dict[str, Any] = {}
        self.fft, self.use_dct = np.fft, False

    def census(self, real: np.ndarray, state: np.ndarray, n: int) -> tuple[int, float]:
        alive = state[:n] == 0
        return int(alive.sum()), float(np.where(alive, real[6, :n], 0.0).sum())

    @staticmethod
    def field_list(E: Any) -> list[np.ndarray]:
        return E

    def prepare(
        self, real: np.ndarray, state: np.ndarray, n: int, to_fixed_t: bool, ptd: float
    ) -> tuple[int, np.ndarray]:
        alive = state[:n] == 0
        na = int(alive.sum())
        if to_fixed_t and na:
            cols = np_to_fixed_t(ptd, *(real[r, :n][alive] for r in range(6)))
            for r in range(6):
                real[r, :n][alive] = cols[r]
        if na == 0:
            return 0, np.zeros(6)
        sel = real[:3, :n][:, alive]
        return na, np.concatenate([sel.min(axis=1), sel.max(axis=1)])

    def to_fixed_s_all(self, real: np.ndarray, state: np.ndarray, n: int, pzd: float) -> None:
        alive = state[:n] == 0
        cols = np_to_fixed_s(pzd, *(real[r, :n][alive] for r in range(6)))
        for r in range(6):
            real[r, :n][alive] = cols[r]

    @staticmethod
    def _stencil(real: np.ndarray, idx: np.ndarray, order: int, lo: Any, inv_d: Any, shape: tuple[int, ...]):
        """Flat node indices (m, s^dim) and weights (m, s^dim) of the particles idx; ok = inside the grid."""
        s = order + 1
        firsts, weights = [], []
        for ax in range(len(shape)):
            i0, w = np_shape(order, (real[ax, idx] - lo[ax]) * inv_d[ax])
            firsts.append(i0)
            weights.append(w)
        ok = np.ones(idx.size, dtype=bool)
        for ax, i0 in enumerate(firsts):
            ok &= (i0 >= 0) & (i0 + s <= shape[ax])
        flat = np.zeros((idx.size, 1), dtype=np.int64)
        wt = np.ones((idx.size, 1))
        for ax in range(len(shape)):
            nodes = firsts[ax][:, None] + np.arange(s)[None, :]
            flat = (flat[:, :, None] * shape[ax] + nodes[:, None, :]).reshape(idx.size, -1)
            wt = (wt[:, :, None] * weights[ax][:, None, :]).reshape(idx.size, -1)
        return flat, wt, ok

    def deposit(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        has_w: bool,
        wscale: float,
        order: int,
        lo: Any,
        inv_d: Any,
        shape: tuple[int, ...],
    ) -> np.ndarray:
        idx = np.flatnonzero(state[:n] == 0)
        flat, wt, ok = self._stencil(real, idx, order, lo, inv_d, shape)
        q = wscale * (real[6, idx] if has_w else np.ones(idx.size))
        q = np.where(ok, q, 0.0)
        flat = np.where(ok[:, None], flat, 0)
        ng = int(np.prod(shape))
        rho = np.zeros(ng)
        for c in range(flat.shape[1]):
            rho += np.bincount(flat[:, c], weights=q * wt[:, c], minlength=ng)
        return rho.reshape(shape)

    def deposit_line(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        has_w: bool,
        wscale: float,
        bin_min: float,
        bin_size: float,
        nb: int,
    ) -> np.ndarray:
        idx = np.flatnonzero(state[:n] == 0)
        b = np.floor((real[2, idx] - bin_min) / bin_size).astype(np.int64)
        ok = (b >= 0) & (b < nb)
        w = real[6, idx] if has_w else np.ones(idx.size)
        return np.bincount(b[ok], weights=wscale * w[ok] / bin_size, minlength=nb)

    def grad(self, phi: np.ndarray, h: Any) -> list[np.ndarray]:
        E = []
        inner = tuple(slice(1, -1) for _ in range(phi.ndim))
        for ax in range(phi.ndim):
            e = np.zeros_like(phi)
            lo_sl = tuple(slice(0, -2) if a == ax else slice(1, -1) for a in range(phi.ndim))
            hi_sl = tuple(slice(2, None) if a == ax else slice(1, -1) for a in range(phi.ndim))
            e[inner] = h[ax] * (phi[lo_sl] - phi[hi_sl])
            E.append(e)
        return E

    def _gather(
        self, real: np.ndarray, idx: np.ndarray, order: int, lo: Any, inv_d: Any, fields: list[np.ndarray]
    ) -> list[np.ndarray]:
        flat, wt, ok = self._stencil(real, idx, order, lo, inv_d, fields[0].shape)
        flat = np.where(ok[:, None], flat, 0)
        wt = np.where(ok[:, None], wt, 0.0)
        return [(f.ravel()[flat] * wt).sum(axis=1) for f in fields]

    def gather_push3d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        order: int,
        lo: Any,
        inv_d: Any,
        E: list[np.ndarray],
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        idx = np.flatnonzero(state[:n] == 0)
        e = self._gather(real, idx, order, lo, inv_d, E)
        if eout is not None:
            for r in range(3):
                eout[r, idx] = e[r]
        for r in range(3):
            real[3 + r, idx] += kick * e[r]
        if fixed_t:
            cols = np_to_fixed_s(pzd, *(real[r, idx] for r in range(6)))
            for r in range(6):
                real[r, idx] = cols[r]

    def gather_push2d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        order: int,
        lo: Any,
        inv_d: Any,
        ex: np.ndarray,
        ey: np.ndarray,
        phi: np.ndarray,
        kxy: float,
        kt: float,
        prof: Any,
        slope: Any,
        bin_min: float,
        bin_size: float,
        eout: np.ndarray | None = None,
    ) -> None:
        idx = np.flatnonzero(state[:n] == 0)
        fields = [ex, ey] + ([phi] if prof is not None else [])
        e = self._gather(real, idx, order, lo, inv_d, fields)
        if prof is None:
            e.append(np.zeros(idx.size))
            fxy, fz = 1.0, 0.0
        else:
            b = ((real[2, idx] - bin_min) / bin_size).astype(np.int64)
            b = np.clip(b, 0, prof.size - 1)
            fxy, fz = prof[b], slope[b]
        if eout is not None:
            for r in range(3):
                eout[r, idx] = e[r]
        real[3, idx] += kxy * fxy * e[0]
        real[4, idx] += kxy * fxy * e[1]
        real[5, idx] -= kt * fz * e[2]

    def push3d(
        self, real: np.ndarray, state: np.ndarray, n: int, e: np.ndarray, kick: float, fixed_t: bool, pzd: float
    ) -> None:
        idx = np.flatnonzero(state[:n] == 0)
        for r in range(3):
            real[3 + r, idx] += kick * e[r, idx]
        if fixed_t:
            cols = np_to_fixed_s(pzd, *(real[r, idx] for r in range(6)))
            for r in range(6):
                real[r, idx] = cols[r]

    def push2d(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        e: np.ndarray,
        kxy: float,
        kt: float,
        prof: Any,
        slope: Any,
        bin_min: float,
        bin_size: float,
    ) -> None:
        idx = np.flatnonzero(state[:n] == 0)
        fxy: Any = 1.0
        fz: Any = 0.0
        if prof is not None:
            b = np.clip(((real[2, idx] - bin_min) / bin_size).astype(np.int64), 0, prof.size - 1)
            fxy, fz = prof[b], slope[b]
        real[3, idx] += kxy * fxy * e[0, idx]
        real[4, idx] += kxy * fxy * e[1, idx]
        real[5, idx] -= kt * fz * e[2, idx]

    def igf(self, shape: tuple[int, ...], cell: tuple[float, ...]) -> np.ndarray:
        axes = [(np.arange(s + 1) - 0.5) * d for s, d in zip(shape, cell, strict=False)]
        grids = np.meshgrid(*axes, indexing="ij")
        P = np_igf3d_corner(*grids) if len(shape) == 3 else np_igf2d_corner(*grids)
        for ax in range(len(shape)):
            P = np.diff(P, axis=ax)
        return COULOMB * P

    def synchronize(self) -> None:
        return None

    def wmoments(self, real: np.ndarray, state: np.ndarray, n: int) -> np.ndarray:
        alive = state[:n] == 0
        w = real[6, :n][alive]
        sw = float(w.sum())
        if not sw > 0.0:
            return np.zeros(7)
        c = real[:3, :n][:, alive]
        m = (c * w).sum(axis=1) / sw
        return np.concatenate([[sw], m, np.sqrt(((c - m[:, None]) ** 2 * w).sum(axis=1) / sw)])

    #: particles per chunk of the vectorised Simpson sums (bounds the (nint, chunk) temporaries)
    CHUNK = 8192

    def _gauss_push(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        fields: Any,
        kick: Any,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None,
    ) -> None:
        idx = np.flatnonzero(state[:n] == 0)
        for a in range(0, idx.size, self.CHUNK):
            sel = idx[a : a + self.CHUNK]
            e = fields(sel)
            if eout is not None:
                for r in range(3):
                    eout[r, sel] = e[r]
            for r in range(3):
                real[3 + r, sel] += kick[r] * e[r]
        if fixed_t:
            self.to_fixed_s_all(real, state, n, pzd)

    def gauss3d_push(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        nint: int,
        sig: Any,
        gamma: float,
        scale: Any,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        def fields(sel: np.ndarray) -> list[np.ndarray]:
            x, y, z = real[0, sel], real[1, sel], real[2, sel]
            integ = np_gauss3d_integrals(nint, x, y, z, sig, gamma)
            return [scale[r] * c * integ[r] for r, c in enumerate((x, y, z))]

        self._gauss_push(real, state, n, fields, (kick, kick, kick), fixed_t, pzd, eout)

    def gauss2p5d_push(
        self,
        real: np.ndarray,
        state: np.ndarray,
        n: int,
        nint: int,
        delta: float,
        sigx: float,
        sigy: float,
        prof: np.ndarray,
        slope: np.ndarray,
        bin_min: float,
        bin_size: float,
        lam_scale: float,
        slope_scale: float,
        pz_const: float,
        kick: float,
        fixed_t: bool,
        pzd: float,
        eout: np.ndarray | None = None,
    ) -> None:
        def fields(sel: np.ndarray) -> list[np.ndarray]:
            integ = np_gauss2d_integrals(delta, nint, real[0, sel], real[1, sel], sigx, sigy)
            b = np.clip(((real[2, sel] - bin_min) / bin_size).astype(np.int64), 0, slope.size - 1)
            fxy, fz = lam_scale * prof[b], slope_scale * slope[b]
            return [fxy * integ[0], fxy * integ[1], fz * (integ[2] + pz_const)]

        self._gauss_push(real, state, n, fields, (kick, kick, -kick), fixed_t, pzd, eout)
