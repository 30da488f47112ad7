"""Open-boundary Poisson solve by FFT convolution with the integrated Green's function (IGF).

phi(node t) = sum_s rho(node s) G(t - s), with G the potential of a uniformly charged cell
(ABLASTR's SumOfIntegratedPotential3D/2D: 1/(4 pi eps0) times the integral of 1/r, resp. -ln r^2,
over one cell). The convolution is done on a periodic grid of M >= 2N - 2 points per axis: because G is
even, the only aliased offsets, +(N-1) and -(N-1), want the same value G[N-1], so 2N - 2 suffices
(Hockney's doubling needs 2N - 1 for a general kernel). M is the next even 5-smooth length.

The FFT of the even, real G is real and equals the DCT-I of its first M/2 + 1 points per axis, which
costs about an eighth of the full transform; the CPU keeps only that half and multiplies with the
mirror indices in C (no full-size copy of the spectrum). The forward transform of rho and the inverse
are pruned: rho is zero beyond N and only the first N points of phi are kept, so each 1D pass runs only
on the lines that can hold data. When the solver knows the nodes that hold charge (the particle extent
plus the stencil), N is that box, not the whole padded array. G's spectrum is cached per (offsets,
cell sizes) - see ``GreenCache``.

``DirichletPoissonSolver`` is ImpactX's ``poisson_solver = "multigrid"`` boundary problem solved directly: phi = 0
on the boundary nodes of the mesh (the padded domain) and, inside, the 7-point Laplacian with the z spacing
stretched by gamma, -(d_xx + d_yy + d_zz / gamma^2) phi = rho / eps0 (AMReX's MLNodeTensorLaplacian with
beta = (0, 0, beta_ref), which ABLASTR's computePhi hands to MLMG; the stencil was identified on ImpactX 26.10's
own rho and phi: its solution leaves a residual of 1e-13 of the right-hand side in the 7-point operator and
0.2 in the trilinear finite-element one). The sine functions sin(pi k j / n) diagonalise that operator, so one
type-I discrete sine transform per axis, a division by its eigenvalues (4 / h^2) sin^2(pi k / (2 n)) and the
inverse transform give the exact discrete solution, the one MLMG iterates towards (to its tolerance, 1e-7 of
the residual by default), in O(N log N) and without iterations.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import constants

#: 1 / (4 pi eps0) [m/F]
COULOMB = 1.0 / (4.0 * math.pi * constants.epsilon0)


def fast_even_len(n: int) -> int:
    """Smallest even 5-smooth integer >= n (a fast FFT length whose half is an integer)."""
    m = max(2, n + (n & 1))
    while True:
        k = m // 2
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2


def _fold(m: int, xp: Any) -> Any:
    """Index map k -> min(k, m - k): the mirror image of an even sequence of period m."""
    k = xp.arange(m)
    return xp.minimum(k, m - k)


class GreenCache:
    """Spectra of the IGF keyed by (grid shape, cell sizes rounded to 12 significant digits).

    The mesh follows the beam, so the cell size changes every slice while the beam evolves; an entry is
    reused only when the beam extent repeats (e.g. a matched or frozen beam, repeated calls on the same
    beam). ``maxsize`` bounds memory (one 64^3 entry is ~12 MB).
    """

    def __init__(self, maxsize: int = 2):
        self.maxsize = maxsize
        self._d: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(shape: tuple[int, ...], cell: tuple[float, ...]) -> tuple[Any, ...]:
        return (shape, tuple(float(f"{c:.12g}") for c in cell))

    def get(self, key: tuple[Any, ...]) -> Any:
        v = self._d.get(key)
        if v is not None:
            self._d.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return v

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.maxsize:
            self._d.popitem(last=False)


class OpenPoissonSolver:
    """IGF Poisson solver for 2D or 3D nodal grids; ``backend`` supplies the array module, the FFTs and
    the Green's function kernel (see ``backend.py``)."""

    def __init__(self, backend: Any, cache_size: int = 2):
        self.backend = backend
        self.xp = backend.xp
        self.cache = GreenCache(cache_size)
        #: seconds the last ``green_hat`` call spent computing (0 on a cache hit)
        self.green_seconds = 0.0

    def green_hat(self, shape: tuple[int, ...], cell: tuple[float, ...]) -> tuple[tuple[int, ...], Any]:
        """(M, spectrum of G on the periodic M-grid) for G on the node offsets 0..shape-1 per axis (M =
        the fast even length >= 2 shape - 2), cached by shape and cell size. Backends with a DCT return the
        half spectrum (M_d / 2 + 1 points per axis, the rest follows by symmetry; ``full_spectrum``
        unfolds it), the others the rfft layout (M_0, ..., M_last / 2 + 1)."""
        key = GreenCache.key(shape, cell)
        hit = self.cache.get(key)
        if hit is not None:
            self.green_seconds = 0.0
            return hit
        t0 = time.perf_counter()
        xp, b = self.xp, self.backend
        ndim = len(shape)
        M = tuple(fast_even_len(2 * n - 2) for n in shape)
        half = xp.zeros(tuple(m // 2 + 1 for m in M), dtype=np.float64)
        half[tuple(slice(0, n) for n in shape)] = b.igf(shape, cell)
        if b.use_dct:
            ghat = b.fft.dctn(half, type=1, overwrite_x=True, **b.fft_kw)
        else:
            full = half
            for ax in range(ndim):
                full = xp.take(full, _fold(M[ax], xp), axis=ax)
            ghat = xp.ascontiguousarray(b.fft.rfftn(full).real)
        entry = (M, ghat)
        self.cache.put(key, entry)
        b.synchronize()
        self.green_seconds = time.perf_counter() - t0
        return entry

    def full_spectrum(self, M: tuple[int, ...], ghat: Any) -> Any:
        """``green_hat``'s spectrum in the rfft layout (unfolds a half spectrum)."""
        if ghat.shape[:-1] == tuple(M[:-1]):
            return ghat
        for ax in range(len(M) - 1):
            ghat = self.xp.take(ghat, _fold(M[ax], self.xp), axis=ax)
        return self.xp.ascontiguousarray(ghat)

    def solve(self, rho: Any, cell: tuple[float, ...], support: Any = None) -> Any:
        """phi on the nodes of rho (same shape), open boundaries. cell: the Green's function cell sizes.

        support: per axis the node range (first, last) that holds all the charge, or None (the whole grid).
        Given, phi is computed on the support plus one node on each side (all that the gradient at the charged
        nodes needs) and is 0 elsewhere; the periodic grid then only has to cover the offsets within that box
        (e.g. 128 instead of 144 points per axis for a 64-cell beam in a 70-node array)."""
        shape = tuple(int(n) for n in rho.shape)
        if support is None:
            box = [(0, n - 1, 0, n - 1) for n in shape]
        else:
            box = []
            for (a, b_), n in zip(support, shape, strict=True):
                a, b_ = max(0, int(a)), min(n - 1, int(b_))
                box.append((a, b_, max(0, a - 1), min(n - 1, b_ + 1)))
        # offsets t - s between an output node t in [o0, o1] and a charged node s in [a, b]: |t - s| <= D
        # (and the output box must fit in the periodic grid)
        goff = tuple(max(b_ - o0, o1 - a, (o1 - o0 + 2) // 2) + 1 for a, b_, o0, o1 in box)
        M, ghat = self.green_hat(goff, cell)
        f, kw = self.backend.fft, self.backend.fft_kw
        last = len(shape) - 1
        # the input starts at the first output node, so that the output box is the start of the periodic result
        x = rho[tuple(slice(o0, b_ + 1) for a, b_, o0, o1 in box)]
        F = f.rfft(x, n=M[last], axis=last, **kw)
        for ax in range(last - 1, -1, -1):
            F = f.fft(F, n=M[ax], axis=ax, **kw)
        if ghat.shape[:-1] == F.shape[:-1]:
            F *= ghat
        else:
            self.backend.mul_folded(F, ghat)
        out = tuple(o1 - o0 + 1 for a, b_, o0, o1 in box)
        for ax in range(last):
            F = f.ifft(F, axis=ax, **kw)[(slice(None),) * ax + (slice(0, out[ax]),)]
        phi_box = f.irfft(F, n=M[last], axis=last, **kw)[(slice(None),) * last + (slice(0, out[last]),)]
        if out == shape:
            return self.xp.ascontiguousarray(phi_box)
        phi = self.xp.zeros(shape, dtype=np.float64)
        phi[tuple(slice(o0, o1 + 1) for a, b_, o0, o1 in box)] = phi_box
        return phi


def dst1(x: Any, axis: int, xp: Any) -> Any:
    """Type-I discrete sine transform along ``axis`` (scipy's unnormalised convention,
    y_k = 2 sum_j x_j sin(pi (j + 1) (k + 1) / (N + 1))) by a real FFT of the odd extension of length 2 N + 2,
    for array modules without one (NumPy, CuPy)."""
    n = x.shape[axis]
    x = xp.moveaxis(x, axis, -1)
    z = xp.zeros((*x.shape[:-1], 2 * n + 2), dtype=np.float64)
    z[..., 1 : n + 1] = x
    z[..., n + 2 :] = -x[..., ::-1]
    y = -xp.fft.rfft(z, axis=-1).imag[..., 1 : n + 1]
    return xp.moveaxis(y, -1, axis)


class DirichletPoissonSolver:
    """The Dirichlet problem of ImpactX's multigrid solver on a 3D nodal grid, solved by sine transforms.

    ``backend`` supplies the array module and the FFTs: with ``use_dct`` (scipy.fft) its ``dstn``, else ``dst1``
    through the backend's FFT."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.xp = backend.xp

    def _eigenvalues(self, n: tuple[int, ...], cell: tuple[float, ...]) -> Any:
        """-(Laplacian) on the sine modes k = 1 .. n - 1 per axis: sum over axes of (4 / h^2) sin^2(pi k / (2 n))."""
        xp = self.xp
        lam = 0.0
        for ax, (m, h) in enumerate(zip(n, cell, strict=True)):
            k = xp.arange(1, m, dtype=np.float64)
            shape = [1] * len(n)
            shape[ax] = m - 1
            lam = lam + (4.0 / (h * h) * xp.sin(0.5 * math.pi * k / m) ** 2).reshape(shape)
        return lam

    def solve(self, rho: Any, cell: tuple[float, ...], boundary: Sequence[tuple[int, int]]) -> Any:
        """phi [V] on the nodes of rho [C/m^3] (same shape): 0 on and outside the boundary nodes ``boundary`` (per axis
        the first and the last node of the domain), inside the solution of -Laplacian(phi) = rho / eps0 with the
        7-point stencil of cell sizes ``cell`` [m] (z already stretched by gamma). Charge on or outside the boundary
        nodes does not enter (as in ImpactX, whose walls hold phi = 0 whatever the charge there)."""
        xp, b = self.xp, self.backend
        n = tuple(int(hi) - int(lo) for lo, hi in boundary)
        if min(n) < 2:
            raise ValueError(f"the Dirichlet domain needs >= 2 cells per axis, not {n}")
        inner = tuple(slice(int(lo) + 1, int(hi)) for lo, hi in boundary)
        f = xp.ascontiguousarray(rho[inner]) / constants.epsilon0
        axes = tuple(range(f.ndim))
        if b.use_dct:
            g = b.fft.dstn(f, type=1, axes=axes, overwrite_x=True, **b.fft_kw)
            g /= self._eigenvalues(n, cell)
            u = b.fft.idstn(g, type=1, axes=axes, overwrite_x=True, **b.fft_kw)
        else:
            g = f
            for ax in axes:
                g = dst1(g, ax, xp)
            g = g / self._eigenvalues(n, cell)
            for ax in axes:
                g = dst1(g, ax, xp) / (2.0 * n[ax])
            u = g
        phi = xp.zeros(rho.shape, dtype=np.float64)
        phi[inner] = u
        return phi
