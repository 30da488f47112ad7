"""Linear maps along s from the engine's own tracking: orbits and Jacobians at every element (or slice) boundary.

A small bundle of particles (the orbit and, per coordinate, the orbit displaced by +-eps) is tracked
through the lattice with the engine's kernels; the central difference of each displaced pair gives a
column of the Jacobian of the map from the start to each boundary. For linear elements this is exact;
for nonlinear ones (chromatic quads, exact bends, multipoles, ...) the truncation error is
O(eps^2 x third-order terms) relative, about 1e-12 at the default eps = 1e-6. Because the maps come
from tracking, they agree with every element the tracker pushes, Programmable ones included.

Coordinates are ImpactX's, in map order (x, px, y, py, t, pt) (x, y [m]; px, py [1]; t = c dt [m];
pt = -dE/(p0 c) [1]). ``to_xsuite`` converts a map to (x, px, y, py, zeta, pzeta) with
zeta = -beta0 t and pzeta = ptau / beta0 = -pt / beta0 (xtrack's coordinates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..elements.base import Element
from ..particles import ParticleContainer
from ..refpart import ReferenceEnergyError, RefPart

if TYPE_CHECKING:
    from ..tracked_run import TrackedRun

#: map order (x, px, y, py, t, pt) -> rows of the particle container (x, y, t, px, py, pt)
ROW_OF = (0, 3, 1, 4, 2, 5)


__all__ = [
    "MapsAlongS",
    "Prober",
    "ReferenceEnergyError",
    "check_reference",
    "closed_orbit",
    "closed_orbit_6d",
    "delta_of_pt",
    "element_names",
    "pt_of_delta",
    "to_xsuite",
]


def check_reference(ref: RefPart) -> None:
    """Raise ReferenceEnergyError when ``ref`` is at rest (beta gamma = 0): every map divides by it."""
    ref.check_energy()


def pt_of_delta(delta: float, ref: RefPart) -> float:
    """ImpactX's pt = -dE/(p0 c) [1] of a particle with relative momentum deviation delta = dp/p0."""
    bg = ref.beta_gamma
    return -(float(np.sqrt((1.0 + delta) ** 2 + 1.0 / bg**2)) - 1.0 / ref.beta)


def delta_of_pt(pt: Any, ref: RefPart) -> Any:
    """delta = dp/p0 of particles with ImpactX's pt (inverse of ``pt_of_delta``)."""
    ptau = -np.asarray(pt, dtype=float)
    return np.sqrt(1.0 + 2.0 * ptau / ref.beta + ptau**2) - 1.0


def to_xsuite(M: np.ndarray, beta0: float) -> np.ndarray:
    """A map (..., 6, 6) on ImpactX's (x, px, y, py, t, pt) expressed on xtrack's (x, px, y, py, zeta, pzeta)."""
    s = np.array([1.0, 1.0, 1.0, 1.0, -beta0, -1.0 / beta0])
    return np.asarray(s[:, None] * M / s[None, :])


@dataclass
class MapsAlongS:
    """Orbit and cumulative linear maps at the lattice boundaries.

    Row k is a boundary: k = 0 the start, then the entry of every element and the end (one row per
    element exit), or every slice boundary with ``at="slice"``. ``M[k]`` maps deviations at the start
    to deviations at row k (ImpactX map order); ``orbit[k]`` is the tracked orbit there.
    """

    s: np.ndarray  #: [m], (n,)
    name: list[str]  #: element at whose entry the row lies ("_end_point" for the end)
    element_type: list[str]  #: ImpactX type of that element ("" for the end)
    orbit: np.ndarray  #: (n, 6) x, px, y, py, t, pt
    M: np.ndarray  #: (n, 6, 6)

    @property
    def one_turn(self) -> np.ndarray:
        """The map of the whole lattice (start to end)."""
        return np.asarray(self.M[-1])


def element_names(lattice: Sequence[Element]) -> list[str]:
    """A unique name per element: the model's name where set and unique, else ``<type>_<index>``."""
    names = [getattr(el.model, "name", None) for el in lattice]
    counts: dict[str, int] = {}
    for n in names:
        if n:
            counts[n] = counts.get(n, 0) + 1
    out = []
    for i, (el, n) in enumerate(zip(lattice, names, strict=True)):
        out.append(n if n and counts[n] == 1 else f"{el.element_type.lower()}_{i}")
    return out


class Prober:
    """Tracks bundles of test particles through one lattice with the engine's serial kernel.

    The run (a bare ``TrackedRun``, with its compiled kernel and cached ops) is kept between calls, so
    Newton iterations of a closed-orbit search cost one pass each.
    """

    def __init__(self, lattice: Sequence[Element], reference: RefPart, at: str = "element"):
        from ..tracked_run import TrackedRun

        if at not in ("element", "slice"):
            raise ValueError(f"at must be 'element' or 'slice', not {at!r}")
        check_reference(reference)
        self.reference = reference.copy()
        self.at = at
        self.sim = TrackedRun(kind="serial", compose_linear=False)
        self.sim.lattice.extend(lattice)
        names = element_names(self.sim.lattice)
        self.names: list[str] = []
        self.types: list[str] = []
        for el, n in zip(self.sim.lattice, names, strict=True):
            ns = el.nslice if at == "slice" else 1
            for k in range(ns):
                self.names.append(n if k == 0 else f"{n}..{k}")
                self.types.append(el.element_type)
        self.names.append("_end_point")
        self.types.append("")
        self._records: list[np.ndarray] = []
        self._s: list[float] = []
        self._first_slice = False
        self.sim.hook["after_element"] = self._after_element
        if at == "slice":
            self.sim.hook["before_element"] = self._before_element
            self.sim.hook["before_slice"] = self._before_slice

    # --- hooks -------------------------------------------------------------------------------
    def _record(self, sim: TrackedRun) -> None:
        self._records.append(np.array(sim.beam.real[:6])[list(ROW_OF)])
        self._s.append(sim.reference.s)

    def _after_element(self, sim: TrackedRun) -> None:
        self._record(sim)

    def _before_element(self, sim: TrackedRun) -> None:
        self._first_slice = True

    def _before_slice(self, sim: TrackedRun) -> None:
        if not self._first_slice:
            self._record(sim)
        self._first_slice = False

    # --- tracking ----------------------------------------------------------------------------
    def track(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Track particles z (6, n) (map order) once through the lattice; returns s (m,) and the
        coordinates at every boundary (m, 6, n), the start included. Raises when one is lost."""
        sim = self.sim
        sim.reference = self.reference.copy()
        sim.tracking_step = sim.tracking_period = 0
        sim.beam = ParticleContainer(qm=self.reference.qm_ratio_SI)
        rows = np.empty((6, z.shape[1]))
        rows[list(ROW_OF)] = z
        x, y, t, px, py, pt = rows
        sim.beam.add_n_particles(x, y, t, px, py, pt, qm=self.reference.qm_ratio_SI, bunch_charge=0.0)
        self._records, self._s = [], []
        self._record(sim)
        sim.track_particles(periods=1)
        state = np.asarray(sim.beam.state)
        if (state != 0).any():
            raise ArithmeticError(
                "a test particle of the optics calculation was lost (aperture or "
                "outside an element's domain): the orbit or eps is too large for this lattice"
            )
        return np.array(self._s), np.array(self._records)

    def maps(self, orbit0: np.ndarray, eps: float = 1e-6) -> MapsAlongS:
        """Orbit and Jacobians (central differences with steps ``eps``) along s, starting at ``orbit0`` (6,)."""
        orbit0 = np.asarray(orbit0, dtype=float)
        z = np.repeat(orbit0[:, None], 13, axis=1)
        for j in range(6):
            z[j, 1 + j] += eps
            z[j, 7 + j] -= eps
        s, rec = self.track(z)
        M = (rec[:, :, 1:7] - rec[:, :, 7:13]) / (2.0 * eps)
        return MapsAlongS(s=s, name=list(self.names), element_type=list(self.types), orbit=rec[:, :, 0], M=M)

    def one_turn(self, z4: np.ndarray, pt: float, t: float = 0.0) -> np.ndarray:
        """The transverse coordinates (4,) after one pass of a particle starting at (z4, t, pt)."""
        z = np.array([*z4, t, pt])[:, None]
        _, rec = self.track(z)
        return np.asarray(rec[-1, :4, 0])


def closed_orbit(
    prober: Prober, pt: float = 0.0, eps: float = 1e-6, tol: float = 1e-15, max_iter: int = 30
) -> np.ndarray:
    """The 4D closed orbit (x, px, y, py) at fixed pt (t free), by Newton iteration on the tracked
    one-turn map with its finite-difference Jacobian; returns the full 6D start (t = 0)."""
    z = np.zeros(6)
    z[5] = pt
    for _ in range(max_iter):
        m = prober.maps(z, eps)
        F = m.orbit[-1, :4] - z[:4]
        A = m.one_turn[:4, :4] - np.eye(4)
        dz = np.linalg.solve(A, -F)
        z[:4] += dz
        if np.max(np.abs(dz)) <= tol * (1.0 + np.max(np.abs(z[:4]))):
            return z
    raise ArithmeticError(
        f"closed orbit search did not converge in {max_iter} iterations (|dz| = {np.abs(dz).max():.3e})"
    )


def closed_orbit_6d(
    prober: Prober,
    guess: np.ndarray | None = None,
    t_shift: float = 0.0,
    eps: float = 1e-6,
    tol: float = 1e-15,
    max_iter: int = 30,
) -> np.ndarray:
    """The 6D closed orbit (x, px, y, py, t, pt) of a ring with RF, by Newton iteration on the tracked
    one-turn map with its finite-difference Jacobian (xtrack's ``find_closed_orbit`` of method 6d).

    t_shift [m]: the orbit sought returns with t increased by t_shift (xtrack's ``zeta_shift`` =
    -beta0 t_shift: an off-momentum orbit slipping in phase by a fixed amount per turn); 0 for the
    closed orbit itself. guess: the start of the iteration (default the reference orbit)."""
    z = np.zeros(6) if guess is None else np.array(guess, dtype=float)
    shift = np.array([0.0, 0.0, 0.0, 0.0, t_shift, 0.0])
    dz = np.full(6, np.inf)
    for _ in range(max_iter):
        m = prober.maps(z, eps)
        F = m.orbit[-1] - z - shift
        dz = np.linalg.solve(m.one_turn - np.eye(6), -F)
        z += dz
        if np.max(np.abs(dz)) <= tol * (1.0 + np.max(np.abs(z))):
            return z
    raise ArithmeticError(
        f"6D closed orbit search did not converge in {max_iter} iterations (|dz| = {np.abs(dz).max():.3e})"
    )
