"""Twiss: lattice functions along s, periodic (a ring) or from initial conditions (a transfer line).

Computed from the engine's own tracked maps (``optics.maps``), 4D as xtrack's ``twiss(method="4d")``:
the transverse one-turn map at the closed orbit gives the normal form W0 (``optics.tunes``), the
periodic dispersion solves (R4 - 1) D = -R[:4, pzeta] (MAD-8 physics manual eq. 6.13), and
W(s) = M(s) W0 along the line, with M(s) the map from the start to s. From W (xtrack's and
MAD-X's names, Mais-Ripken / Lebedev-Bogacz parametrisation of coupled motion):

- betx = W00^2 + W01^2, alfx = -(W00 W10 + W01 W11), gamx = W10^2 + W11^2 (mode 1 in x; betx1);
  bety = W22^2 + W23^2, ... (mode 2 in y; bety2); betx2 = W02^2 + W03^2 and bety1 = W20^2 + W21^2
  are the coupling betas (0 without coupling) [m; 1; 1/m]
- mux, muy: phase advance from the start [2 pi], unwrapped atan2(W01, W00), atan2(W23, W22);
  tunes qx = mux at the end (integer part included)
- Edwards-Teng's parameters of the same motion (``optics.coupling``): betx_edw_teng, alfx_edw_teng,
  bety_edw_teng, alfy_edw_teng [m; 1], g_edw_teng and the coupling matrix r11..r22_edw_teng [1]
- dx, dpx, dy, dpy: dispersion with respect to delta = dp/p0 [m; 1] (first order in delta,
  equal to xtrack's derivative with respect to pzeta; ImpactX's reduced diagnostics report
  -dx/dpt = dx/dptau = dx/delta / beta0)

Chromatic properties (``optics.chromaticity``, xtrack's ``chrom=True``): the
lattice functions at delta0 -+ delta_chrom, periodic (each at its own closed orbit) or, for a
transfer line, from the initial conditions moved to the off-momentum orbit x0 + D0 delta (xtrack's
open-line convention: the same beta and alpha at the start), give dmux, dmuy and Montague's
bx_chrom, ax_chrom, wx_chrom (and y) along s; dqx, dqy are dmux, dmuy at the end.

Scalars: qx, qy; dqx, dqy = dQ/ddelta; momentum_compaction_factor = 1/gamma0^2 - (dzeta/ddelta)/L
and slip_factor (xtrack's definitions; a ring only); R_matrix (ImpactX order) and R_matrix_xsuite.

A ring with RF (RFCavity, ShortRF, Buncher) or energy gain (ChrAcc) has longitudinal motion that
4D optics at fixed delta leave out: its periodic twiss uses the 6D method (``optics.twiss_6d``,
xtrack's method="6d": 6D closed orbit and normal form, synchrotron tune qs) unless method="4d" is
asked for, which raises NotImplementedError naming the element rather than ignoring the RF. A
transfer line with RF is tracked as it is (4D).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..elements.base import Element
from ..refpart import RefPart
from .chromaticity import chromatic_functions
from .coupling import edwards_teng
from .maps import MapsAlongS, Prober, closed_orbit, delta_of_pt, pt_of_delta, to_xsuite
from .tunes import normal_form_4d

#: scalar results of a TwissTable, kept in ``DataFrame.attrs``
SCALARS = (
    "qx",
    "qy",
    "qs",
    "bets0",
    "slip_factor_dzeta_ddelta",
    "dqx",
    "dqy",
    "momentum_compaction_factor",
    "slip_factor",
    "length",
    "periodic",
    "delta0",
    "R_matrix",
    "R_matrix_xsuite",
    "coupling",
    "method",
)

#: element types with longitudinal (t-dependent) kicks or energy gain: no 4D periodic solution
LONGITUDINAL_TYPES = frozenset({"RFCavity", "ShortRF", "Buncher", "ChrAcc"})


@dataclass
class TwissInit:
    """Initial conditions of a transfer line: Courant-Snyder parameters [m; 1], dispersion with
    respect to delta [m; 1], initial phases [2 pi] and orbit (x, px, y, py [m; 1])."""

    betx: float
    alfx: float
    bety: float
    alfy: float
    dx: float = 0.0
    dpx: float = 0.0
    dy: float = 0.0
    dpy: float = 0.0
    mux: float = 0.0
    muy: float = 0.0
    x: float = 0.0
    px: float = 0.0
    y: float = 0.0
    py: float = 0.0

    def W(self) -> np.ndarray:
        """The uncoupled 4x4 normal-form matrix of these Courant-Snyder parameters."""
        W = np.zeros((4, 4))
        for k, (b, a) in enumerate(((self.betx, self.alfx), (self.bety, self.alfy))):
            if not b > 0:
                raise ValueError(f"bet{'xy'[k]} must be > 0, not {b}")
            sb = np.sqrt(b)
            W[2 * k, 2 * k] = sb
            W[2 * k + 1, 2 * k] = -a / sb
            W[2 * k + 1, 2 * k + 1] = 1.0 / sb
        return W


class TwissTable(pd.DataFrame):
    """Twiss functions, one row per boundary (entry of every element, then ``_end_point``).

    Columns (xtrack's names and units): name, element_type, s [m]; orbit x, px, y, py [m; 1],
    t [m], pt, delta [1]; betx, alfx, gamx, bety, alfy, gamy; betx1, bety1, betx2, bety2
    (Mais-Ripken coupling betas) [m]; betx_edw_teng, alfx_edw_teng, bety_edw_teng, alfy_edw_teng,
    g_edw_teng, r11_edw_teng..r22_edw_teng (Edwards-Teng); dx, dpx, dy, dpy (w.r.t. delta) [m; 1]; mux, muy [2 pi];
    with chromatic properties dmux, dmuy [2 pi], bx_chrom, ax_chrom, wx_chrom, by_chrom, ay_chrom,
    wy_chrom [1] (``optics.chromaticity``).
    Scalars (``SCALARS``) are attributes: ``tw.qx``, ``tw.dqx``, ``tw.momentum_compaction_factor``...
    """

    @property
    def _constructor(self) -> Any:
        return TwissTable

    def __getattr__(self, name: str) -> Any:
        if name in SCALARS and name in self.attrs:
            return self.attrs[name]
        return super().__getattr__(name)

    def plot(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Beta functions and dispersion vs s with the lattice drawn beneath (``beamtrack.plot.twiss``);
        keyword arguments go there (lattice=..., ax=..., path=...)."""
        from beamtrack.plot import twiss as plot_twiss

        return plot_twiss(self, *args, **kwargs)


def beta_alpha_dispersion(W: np.ndarray, D: np.ndarray) -> dict[str, np.ndarray]:
    """betx, alfx, gamx, bety, alfy, gamy, the mode betas betx1, bety1, betx2, bety2 [m] from the normal-form
    matrices W (n, >=4, >=4; xtrack's coordinates, Courant-Snyder gauge) and dx, dpx, dy, dpy from the dispersion
    D (n, 4), per row (twiss and twiss_6d)."""
    return {
        "betx": W[:, 0, 0] ** 2 + W[:, 0, 1] ** 2,
        "alfx": -(W[:, 0, 0] * W[:, 1, 0] + W[:, 0, 1] * W[:, 1, 1]),
        "gamx": W[:, 1, 0] ** 2 + W[:, 1, 1] ** 2,
        "bety": W[:, 2, 2] ** 2 + W[:, 2, 3] ** 2,
        "alfy": -(W[:, 2, 2] * W[:, 3, 2] + W[:, 2, 3] * W[:, 3, 3]),
        "gamy": W[:, 3, 2] ** 2 + W[:, 3, 3] ** 2,
        "betx1": W[:, 0, 0] ** 2 + W[:, 0, 1] ** 2,
        "bety1": W[:, 2, 0] ** 2 + W[:, 2, 1] ** 2,
        "betx2": W[:, 0, 2] ** 2 + W[:, 0, 3] ** 2,
        "bety2": W[:, 2, 2] ** 2 + W[:, 2, 3] ** 2,
        "dx": D[:, 0],
        "dpx": D[:, 1],
        "dy": D[:, 2],
        "dpy": D[:, 3],
    }


def _lattice_functions(
    maps: MapsAlongS, W0: np.ndarray, D0: np.ndarray, beta0: float, mu0: tuple[float, float]
) -> dict[str, np.ndarray]:
    Mx = to_xsuite(maps.M, beta0)
    W = np.einsum("kij,jl->kil", Mx[:, :4, :4], W0)
    # the dispersion vector (D0, zeta 0, pzeta 1) carried by the maps
    d0 = np.array([*D0, 0.0, 1.0])
    d = Mx @ d0
    D = d[:, :4] / d[:, 5:6]
    phix = np.unwrap(np.arctan2(W[:, 0, 1], W[:, 0, 0]))
    phiy = np.unwrap(np.arctan2(W[:, 2, 3], W[:, 2, 2]))
    coupling = edwards_teng(W, (phix[-1] - phix[0]) / (2.0 * np.pi), (phiy[-1] - phiy[0]) / (2.0 * np.pi))
    return {
        **beta_alpha_dispersion(W, D),
        "mux": (phix - phix[0]) / (2.0 * np.pi) + mu0[0],
        "muy": (phiy - phiy[0]) / (2.0 * np.pi) + mu0[1],
        **coupling,
    }


def _periodic_solution(prober: Prober, delta: float, eps: float) -> tuple[MapsAlongS, np.ndarray, np.ndarray]:
    """Maps along s at the closed orbit of momentum deviation ``delta``, the normal form W0 and the
    periodic dispersion D0 (w.r.t. delta) at the start."""
    ref = prober.reference
    z0 = closed_orbit(prober, pt=pt_of_delta(delta, ref), eps=eps)
    maps = prober.maps(z0, eps)
    Rx = to_xsuite(maps.one_turn, ref.beta)
    W0, _ = normal_form_4d(Rx[:4, :4])
    D0 = -np.linalg.solve(Rx[:4, :4] - np.eye(4), Rx[:4, 5])
    return maps, W0, D0


def _momentum_compaction(Rx: np.ndarray, length: float, gamma0: float) -> tuple[float, float]:
    """(momentum_compaction_factor, slip_factor) of a 4D one-turn map (xtrack's definitions:
    slip = -(dzeta/ddelta)/L on the closed orbit of delta, alpha_c = slip + 1/gamma0^2)."""
    d = 1e-3  # linear algebra on the matrix: the value cancels
    x4 = np.linalg.solve(Rx[:4, :4] - np.eye(4), -Rx[:4, 5] * d)
    dzeta = Rx[4, :4] @ x4 + Rx[4, 5] * d
    slip = -(dzeta / d) / length
    return float(slip + 1.0 / gamma0**2), float(slip)


def _longitudinal_elements(lattice: Sequence[Element]) -> list[str]:
    """The RF / energy-gain elements of a lattice, as "<type> <name or #index>"."""
    types = [str(getattr(el.model, "type", "")) for el in lattice]
    return [
        f"{t} {el.model.name or '#' + str(i)}"
        for i, (t, el) in enumerate(zip(types, lattice, strict=True))
        if t in LONGITUDINAL_TYPES
    ]


def _check_longitudinal(lattice: Sequence[Element]) -> None:
    """Raise NotImplementedError naming the RF / energy-gain elements of a periodic lattice (4D method)."""
    rf = _longitudinal_elements(lattice)
    if rf:
        raise NotImplementedError(
            f"periodic 4D twiss of a lattice with RF or energy gain ({', '.join(rf[:3])}): 4D optics at fixed "
            "delta leave out its longitudinal motion; use method='6d' (the default for such a lattice), or "
            "twiss the lattice without these elements for the coasting-beam optics"
        )


def add_chromatic(
    cols: dict[str, Any],
    scalars: dict[str, Any],
    minus: tuple[dict[str, np.ndarray], np.ndarray],
    plus: tuple[dict[str, np.ndarray], np.ndarray],
) -> None:
    """Add the chromatic columns to ``cols`` and the chromaticities dqx, dqy to ``scalars``, from the lattice
    functions and the delta per row at two momentum deviations, ``minus`` below ``plus`` (twiss and twiss_6d)."""
    (f_minus, d_minus), (f_plus, d_plus) = minus, plus
    chrom = chromatic_functions(f_minus, f_plus, d_plus - d_minus)
    cols.update(chrom)
    scalars["dqx"], scalars["dqy"] = float(chrom["dmux"][-1]), float(chrom["dmuy"][-1])


def twiss_table(maps: MapsAlongS, ref: RefPart, cols: dict[str, Any], scalars: dict[str, Any]) -> TwissTable:
    """The table of twiss and twiss_6d: per row name, element_type, s [m], the orbit x, px, y, py, t, pt and
    delta [1], then ``cols`` (lattice functions); ``scalars`` (tunes, chromaticities, ...) as its attrs."""
    orbit = maps.orbit
    data: dict[str, Any] = {
        "name": maps.name,
        "element_type": maps.element_type,
        "s": maps.s,
        "x": orbit[:, 0],
        "px": orbit[:, 1],
        "y": orbit[:, 2],
        "py": orbit[:, 3],
        "t": orbit[:, 4],
        "pt": orbit[:, 5],
        "delta": delta_of_pt(orbit[:, 5], ref),
    }
    data.update(cols)
    tw = TwissTable(data)
    tw.attrs.update(scalars)
    return tw


def twiss(
    lattice: Sequence[Element],
    reference: RefPart,
    init: TwissInit | dict[str, float] | None = None,
    *,
    method: Literal["4d", "6d"] | None = None,
    delta0: float = 0.0,
    at: str = "element",
    chromaticity: bool = True,
    delta_chrom: float = 5e-5,
    eps: float = 1e-7,
) -> TwissTable:
    """Twiss functions of ``lattice`` for the reference particle ``reference``.

    init: None for the periodic solution (a ring: closed orbit, tunes, chromaticity, momentum
    compaction), or a TwissInit / dict of its fields for a transfer line. method: "4d" (transverse
    optics at fixed delta) or "6d" (a ring with RF: 6D closed orbit and normal form, synchrotron tune
    qs); None picks "6d" for a periodic lattice with RF (RFCavity, ShortRF, Buncher) or ChrAcc, else
    "4d". delta0: momentum deviation of the orbit (4d only). at: rows at every "element" boundary or
    every "slice" boundary. chromaticity: compute the chromatic properties (dqx, dqy and the chromatic
    columns). delta_chrom: half-step of their difference in delta. eps: finite-difference step of the
    maps. Raises UnstableMotionError (periodic case) when the one-turn map is unstable,
    NotImplementedError for method "4d" on a periodic lattice with RF and for method "6d" from initial
    conditions, ValueError when the RF changes the reference energy over a turn (6d).
    """
    if method is None:
        method = "6d" if init is None and _longitudinal_elements(lattice) else "4d"
    if method == "6d":
        if init is not None:
            raise NotImplementedError(
                "twiss method '6d' from initial conditions (a transfer line): TwissInit has no longitudinal "
                "lattice functions; use method='4d', or init=None for a ring"
            )
        if delta0 != 0.0:
            raise ValueError("delta0 must be 0 with method '6d': the 6D closed orbit fixes the momentum (as xtrack)")
        from .twiss_6d import twiss_6d

        return twiss_6d(lattice, reference, at=at, chromaticity=chromaticity, delta_chrom=delta_chrom, eps=eps)
    if method != "4d":
        raise ValueError(f"twiss method must be '4d' or '6d', not {method!r}")
    if init is None:
        _check_longitudinal(lattice)
    if chromaticity and not delta_chrom > 0:
        raise ValueError(f"delta_chrom must be > 0, not {delta_chrom}")
    prober = Prober(lattice, reference, at=at)
    ref = prober.reference
    beta0, gamma0 = ref.beta, ref.gamma
    scalars: dict[str, Any] = {
        "length": float(sum(el.ds for el in prober.sim.lattice)),
        "method": "4d",
        "coupling": "Mais-Ripken (betx1, betx2, bety1, bety2) and Edwards-Teng (betx_edw_teng, ..., r11_edw_teng, ...)",
    }
    if init is None:
        maps, W0, D0 = _periodic_solution(prober, delta0, eps)
        mu0 = (0.0, 0.0)
        Rx = to_xsuite(maps.one_turn, beta0)
        ac, slip = _momentum_compaction(Rx, scalars["length"], gamma0) if scalars["length"] > 0 else (np.nan, np.nan)
        scalars.update(periodic=True, momentum_compaction_factor=ac, slip_factor=slip)
    else:
        ti = init if isinstance(init, TwissInit) else TwissInit(**init)
        z0 = np.array([ti.x, ti.px, ti.y, ti.py, 0.0, pt_of_delta(delta0, ref)])
        maps = prober.maps(z0, eps)
        W0, D0 = ti.W(), np.array([ti.dx, ti.dpx, ti.dy, ti.dpy])
        mu0 = (ti.mux, ti.muy)
        scalars.update(periodic=False, momentum_compaction_factor=np.nan, slip_factor=np.nan)
    cols = _lattice_functions(maps, W0, D0, beta0, mu0)
    scalars.update(
        qx=float(cols["mux"][-1]),
        qy=float(cols["muy"][-1]),
        delta0=delta0,
        R_matrix=maps.one_turn,
        R_matrix_xsuite=to_xsuite(maps.one_turn, beta0),
    )
    if chromaticity:

        def off_momentum(d: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
            """Lattice functions and delta per row at momentum deviation d."""
            if init is None:
                m, W, D = _periodic_solution(prober, d, eps)
            else:
                z = z0.copy()
                z[:4] += D0 * (d - delta0)
                z[5] = pt_of_delta(d, ref)
                m, W, D = prober.maps(z, eps), W0, D0
            return _lattice_functions(m, W, D, beta0, mu0), delta_of_pt(m.orbit[:, 5], ref)

        add_chromatic(cols, scalars, off_momentum(delta0 - delta_chrom), off_momentum(delta0 + delta_chrom))
    else:
        scalars["dqx"] = scalars["dqy"] = np.nan
    return twiss_table(maps, ref, cols, scalars)
