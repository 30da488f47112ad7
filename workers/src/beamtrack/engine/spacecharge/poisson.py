"""Open-boundary Poisson solve by FFT convolution with the integrated Green's function (IGF).

phi(node t) = sum_s rho(node s) G(t - s), with G the potential of a uniformly charged cell
(ABLASTR's SumOfIntegratedPotential3D/2D: 1/(4 pi eps0) times the integral of 1/r, resp. -ln r^2,
over one cell). The convolution is done on a periodic grid of M >= 2N - 2 points per axis: because G is
even, the only aliased offsets, +(N-1) and -(N-1), want the same value G[N-1], so 2N - 2 suffices
(Hockney's doubling needs 2N - 1 for a general kernel). M is the next even 5-smooth length.

The FFT of the even, real G is real and equals the DCT-I of its first M/2 + 1 points per axis, which
costs about an eighth of the full transform. The forward transform of rho and the inverse are pruned:
rho is zero beyond N and only the first N points of phi are kept, so each 1D pass runs only on the
lines that can hold data. G's spectrum is cached per (grid shape, cell sizes) - see ``GreenCache``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
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

    def green_hat(self, shape: tuple[int, ...], cell: tuple[float, ...]) -> tuple[tuple[int, ...], Any]:
        """(M, real spectrum of G on the periodic M-grid in rfft layout), cached by shape and cell size."""
        key = GreenCache.key(shape, cell)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        xp, b = self.xp, self.backend
        ndim = len(shape)
        M = tuple(fast_even_len(2 * n - 2) for n in shape)
        half = xp.zeros(tuple(m // 2 + 1 for m in M), dtype=np.float64)
        half[tuple(slice(0, n) for n in shape)] = b.igf(shape, cell)
        if b.use_dct:
            D = b.fft.dctn(half, type=1, **b.fft_kw)
            for ax in range(ndim - 1):
                D = xp.take(D, _fold(M[ax], xp), axis=ax)
            ghat = xp.ascontiguousarray(D)
        else:
            full = half
            for ax in range(ndim):
                full = xp.take(full, _fold(M[ax], xp), axis=ax)
            ghat = xp.ascontiguousarray(b.fft.rfftn(full).real)
        entry = (M, ghat)
        self.cache.put(key, entry)
        return entry

    def solve(self, rho: Any, cell: tuple[float, ...]) -> Any:
        """phi on the nodes of rho (same shape), open boundaries. cell: the Green's function cell sizes."""
        shape = tuple(int(n) for n in rho.shape)
        M, ghat = self.green_hat(shape, cell)
        f, kw = self.backend.fft, self.backend.fft_kw
        last = len(shape) - 1
        F = f.rfft(rho, n=M[last], axis=last, **kw)
        for ax in range(last - 1, -1, -1):
            F = f.fft(F, n=M[ax], axis=ax, **kw)
        F *= ghat
        for ax in range(last):
            F = f.ifft(F, axis=ax, **kw)[(slice(None),) * ax + (slice(0, shape[ax]),)]
        phi = f.irfft(F, n=M[last], axis=last, **kw)[(slice(None),) * last + (slice(0, shape[last]),)]
        return self.xp.ascontiguousarray(phi)
