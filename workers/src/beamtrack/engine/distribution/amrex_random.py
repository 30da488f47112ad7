"""AMReX's CPU random stream, the one ImpactX 26.10 draws its beams from (one rank, no OpenMP: PyPI impactx-noacc).

``amrex::Initialize`` calls ``InitRandom(rank + 1)``: one ``std::mt19937`` seeded with 1 on one rank.
``amrex::Random()`` is ``std::uniform_real_distribution<double>(0, 1)`` on it, which libstdc++ builds from two
32-bit outputs g0, g1 (``generate_canonical<double, 53>``): (g0 + 2^32 g1) / 2^64, rounded to double, kept below 1.
ImpactX's distributions draw a fixed number of these per particle, particle after particle (``ParallelForRNG`` on
the CPU is a loop), so with this stream and their order (``_base.uniforms``) beamtrack draws ImpactX's particles,
equal to round-off in the maps from the uniform numbers to the coordinates. NumPy's MT19937 is the same generator;
only its seeding differs, so the state is set here with Matsumoto and Nishimura's ``init_genrand`` (what
``std::mt19937::seed`` does).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_N = 624  # MT19937 state words
_MAX_SEED = 2**32 - 1


def _init_genrand(seed: int) -> NDArray[np.uint32]:
    """The 624 state words of ``std::mt19937(seed)`` (MT19937's init_genrand)."""
    key = np.empty(_N, dtype=np.uint32)
    x = seed
    key[0] = x
    for i in range(1, _N):
        x = (1812433253 * (x ^ (x >> 30)) + i) & 0xFFFFFFFF
        key[i] = x
    return key


class AmrexRandom:
    """``amrex::Random()`` and ``amrex::RandomNormal(0, 1)`` on one CPU thread, from ``std::mt19937(seed)``.

    seed: AMReX's ``cpu_seed`` (ImpactX on one rank: 1), an integer in [0, 2^32 - 1]. ``drawn`` counts the
    uniform numbers drawn so far (a JobSpec can only name a stream drawn from its start).
    """

    def __init__(self, seed: int = 1):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= _MAX_SEED:
            raise ValueError(f"AMReX's random seed must be an integer in [0, 2^32 - 1], got {seed!r}")
        self.seed = int(seed)
        self.drawn = 0
        self._bitgen = np.random.MT19937()
        self._bitgen.state = {"bit_generator": "MT19937", "state": {"key": _init_genrand(self.seed), "pos": _N}}
        self._ahead = np.empty(0)  # uniform numbers generated but not yet drawn (normal's rejection batches)

    def uniform(self, n: int) -> NDArray[np.float64]:
        """The next ``n`` values of ``amrex::Random()`` (libstdc++'s canonical doubles, in [0, 1))."""
        k = min(n, self._ahead.size)
        head, self._ahead = self._ahead[:k], self._ahead[k:]
        raw = self._bitgen.random_raw(2 * (n - k)).astype(np.float64)
        u = (raw[0::2] + raw[1::2] * 4294967296.0) / 18446744073709551616.0
        np.minimum(u, np.nextafter(1.0, 0.0), out=u)  # libstdc++: a sum rounded up to 1 becomes the largest below
        self.drawn += n
        return np.concatenate((head, u)) if k else u

    def standard_normal(self, n: int) -> NDArray[np.float64]:
        """The next ``n`` values of ``amrex::RandomNormal(0, 1)``: on the CPU a new ``std::normal_distribution`` per
        call, i.e. libstdc++'s polar method keeping only its first value: pairs x, y = 2u - 1 until
        0 < r^2 = x^2 + y^2 <= 1, then y sqrt(-2 ln r^2 / r^2) (the saved x value is dropped with the object)."""
        out = np.empty(n)
        filled = 0
        while filled < n:
            need = n - filled
            u = self.uniform(2 * (need + need // 3 + 16))  # acceptance pi/4
            x, y = 2.0 * u[0::2] - 1.0, 2.0 * u[1::2] - 1.0
            r2 = x * x + y * y
            (ok,) = np.nonzero((r2 <= 1.0) & (r2 != 0.0))
            if ok.size > need:  # the pairs after the last one used go back, undrawn
                ok = ok[:need]
                rest = u[2 * (ok[-1] + 1) :]
                self._ahead = np.concatenate((rest, self._ahead))
                self.drawn -= rest.size
            out[filled : filled + ok.size] = y[ok] * np.sqrt(-2.0 * np.log(r2[ok]) / r2[ok])
            filled += ok.size
        return out

    def __repr__(self) -> str:
        return f"AmrexRandom(seed={self.seed}, drawn={self.drawn})"
