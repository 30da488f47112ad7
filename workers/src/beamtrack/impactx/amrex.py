"""Stand-in for ``amrex.space3d`` as ImpactX scripts use it: ``import beamtrack.impactx.amrex as amr``.

beamtrack runs on one process without AMReX: ``initialize`` / ``finalize`` track state and, as
``amrex::Initialize`` does, start AMReX's random stream (``random_stream()``: ``std::mt19937`` seeded with 1, the
rank + 1; ``BEAMTRACK_IMPACTX_SEED=k`` seeds it with k instead, to draw another sample), ``ParmParse`` stores values (``amrex.*`` runtime options, which tune AMReX's memory arenas and logging,
have no effect here), ``ParallelDescriptor`` answers for one rank, and ``SmallMatrix_6x6_F_SI1_double``
is AMReX's 1-based Fortran-ordered small matrix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
from beamtrack.engine.distribution import AmrexRandom

_state = {"initialized": False}
_random: list[AmrexRandom] = []  # the session's stream (none before the first initialize)
_database: dict[str, list[Any]] = {}


def initialize(args: Iterable[str] = ()) -> None:
    """AMReX's initialize([args]); ``key=value`` arguments go into the ParmParse database (``amrex.*`` only, see
    ``ParmParse``)."""
    for a in args:
        if "=" in a:
            k, v = a.split("=", 1)
            _check_key(k.strip())
            _database[k.strip()] = v.split()
    _state["initialized"] = True
    _random[:] = [AmrexRandom(_cpu_seed())]


def _cpu_seed() -> int:
    """AMReX's ``InitRandom`` seed on one rank: 1, or ``BEAMTRACK_IMPACTX_SEED`` (beamtrack's, to resample)."""
    value = os.environ.get("BEAMTRACK_IMPACTX_SEED", "1")
    try:
        seed = int(value)
    except ValueError:
        raise ValueError(f"BEAMTRACK_IMPACTX_SEED must be an integer in [0, 2^32 - 1], not {value!r}") from None
    if not 0 <= seed < 2**32:
        raise ValueError(f"BEAMTRACK_IMPACTX_SEED must be an integer in [0, 2^32 - 1], not {value!r}")
    return seed


def random_stream() -> AmrexRandom:
    """The stream ``amrex::Random()`` draws from in this AMReX session (``initialize`` starts it)."""
    if not _random:
        raise RuntimeError("AMReX is not initialized: call amrex.initialize() (ImpactX() does)")
    return _random[0]


def initialized() -> bool:
    return _state["initialized"]


def finalize() -> None:
    _state["initialized"] = False


def _check_key(key: str) -> None:
    """ImpactX reads its own options (``algo.*``, ``amr.*``, ``geometry.*``, ``beam.*``, ``diag.*``, ...) from
    ParmParse; beamtrack reads them only from ``sim`` attributes, so setting one here would be ignored: refused.
    AMReX's runtime options (``amrex.*``: memory arenas, logging) have no effect here and are kept."""
    if key.split(".", 1)[0] != "amrex":
        raise NotImplementedError(
            f"ImpactX option {key} set through amrex.ParmParse is not read by beamtrack: set it on the simulation "
            "object (sim.<option>) instead"
        )


class ParmParse:
    """AMReX's ParmParse(prefix): ``add`` / ``addarr`` / ``get_*`` on a process-wide database. Only AMReX's own
    ``amrex.*`` options may be set (they have no effect here); ImpactX's options set this way raise
    ``NotImplementedError`` (beamtrack reads them from ``sim``, so they would be ignored)."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def add(self, name: str, value: Any) -> None:
        _check_key(self._key(name))
        _database[self._key(name)] = [value]

    def addarr(self, name: str, values: Iterable[Any]) -> None:
        _check_key(self._key(name))
        _database[self._key(name)] = list(values)

    def contains(self, name: str) -> bool:
        return self._key(name) in _database

    def get(self, name: str) -> Any:
        return _database[self._key(name)][0]

    def getarr(self, name: str) -> list[Any]:
        return list(_database[self._key(name)])

    def query(self, name: str, default: Any = None) -> Any:
        v = _database.get(self._key(name))
        return default if v is None else v[0]


class ParallelDescriptor:
    """One rank: rank 0 of 1, the I/O processor."""

    @staticmethod
    def IOProcessor() -> bool:
        return True

    @staticmethod
    def MyProc() -> int:
        return 0

    @staticmethod
    def NProcs() -> int:
        return 1

    @staticmethod
    def Barrier() -> None:
        return None


class PODVector_real_std:  # noqa: N801 (AMReX's name)
    """AMReX's PODVector of reals (ImpactX's wakeconvolution vectors), backed by a NumPy array: ``to_numpy()`` is
    a view (in-place changes show), ``from_numpy`` copies."""

    def __init__(self, size: int = 0):
        self._a = np.zeros(int(size), dtype=np.float64)

    @classmethod
    def from_numpy(cls, a: Any) -> PODVector_real_std:
        v = cls()
        v._a = np.array(a, dtype=np.float64).ravel()
        return v

    def to_numpy(self, copy: bool = False) -> np.ndarray:
        return self._a.copy() if copy else self._a

    def size(self) -> int:
        return int(self._a.size)

    def __len__(self) -> int:
        return int(self._a.size)

    def resize(self, size: int) -> None:
        a = np.zeros(int(size), dtype=np.float64)
        m = min(a.size, self._a.size)
        a[:m] = self._a[:m]
        self._a = a

    def push_back(self, value: float) -> None:
        self._a = np.append(self._a, float(value))

    def __getitem__(self, i: int) -> float:
        return float(self._a[i])

    def __setitem__(self, i: int, value: float) -> None:
        self._a[i] = value


class _SmallMatrix:
    """AMReX's SmallMatrix with 1-based indices ``m[i, j]`` (i, j from 1), Fortran order; a column or row
    vector (``SmallMatrix_3x1``, ImpactX's ``Vector3``) also takes one index ``v[i]`` (i from 1)."""

    shape: tuple[int, int] = (6, 6)

    def __init__(self, data: Any = None):
        self._a = np.zeros(self.shape) if data is None else np.array(data, dtype=float).reshape(self.shape)

    @classmethod
    def identity(cls) -> _SmallMatrix:
        m = cls()
        m._a[:] = np.eye(*cls.shape)
        return m

    @classmethod
    def zero(cls) -> _SmallMatrix:
        return cls()

    def _index(self, ij: int | tuple[int, int]) -> tuple[int, int]:
        if isinstance(ij, tuple):
            i, j = ij
        elif 1 in self.shape:  # a vector: one 1-based index
            i, j = (ij, 1) if self.shape[1] == 1 else (1, ij)
        else:
            raise TypeError(f"{type(self).__name__} takes two indices m[i, j]")
        if not (1 <= i <= self.shape[0] and 1 <= j <= self.shape[1]):
            raise IndexError(f"{type(self).__name__} index {ij} out of range (1-based, shape {self.shape})")
        return i - 1, j - 1

    def __getitem__(self, ij: int | tuple[int, int]) -> float:
        return float(self._a[self._index(ij)])

    def __setitem__(self, ij: int | tuple[int, int], v: float) -> None:
        self._a[self._index(ij)] = v

    def to_numpy(self) -> np.ndarray:
        return self._a.copy()

    def __matmul__(self, other: _SmallMatrix) -> Any:
        a = self._a @ other._a
        out = _SMALL[a.shape]() if a.shape in _SMALL else None
        if out is None:
            return a
        out._a[:] = a
        return out

    def transpose(self) -> Any:
        t = self._a.T
        out = _SMALL[t.shape]()
        out._a[:] = t
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._a.tolist()})"


class SmallMatrix_6x6_F_SI1_double(_SmallMatrix):  # noqa: N801 (AMReX's name)
    shape = (6, 6)


class SmallMatrix_3x6_F_SI1_double(_SmallMatrix):  # noqa: N801
    shape = (3, 6)


class SmallMatrix_6x3_F_SI1_double(_SmallMatrix):  # noqa: N801
    shape = (6, 3)


class SmallMatrix_3x1_F_SI1_double(_SmallMatrix):  # noqa: N801 (ImpactX's Vector3)
    shape = (3, 1)


class SmallMatrix_6x1_F_SI1_double(_SmallMatrix):  # noqa: N801
    shape = (6, 1)


class SmallMatrix_1x3_F_SI1_double(_SmallMatrix):  # noqa: N801
    shape = (1, 3)


class SmallMatrix_1x6_F_SI1_double(_SmallMatrix):  # noqa: N801
    shape = (1, 6)


_SMALL: dict[tuple[int, int], type[_SmallMatrix]] = {
    (6, 6): SmallMatrix_6x6_F_SI1_double,
    (3, 6): SmallMatrix_3x6_F_SI1_double,
    (6, 3): SmallMatrix_6x3_F_SI1_double,
    (3, 1): SmallMatrix_3x1_F_SI1_double,
    (6, 1): SmallMatrix_6x1_F_SI1_double,
    (1, 3): SmallMatrix_1x3_F_SI1_double,
    (1, 6): SmallMatrix_1x6_F_SI1_double,
}
