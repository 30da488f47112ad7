"""6D periodic twiss of a ring with RF, as xtrack's ``twiss(method="6d")``.

From the engine's own tracked maps (``optics.maps``): the 6D closed orbit (Newton on the tracked
one-turn map, t and pt included), the 6x6 one-turn map there on xtrack's coordinates (x, px, y, py,
zeta, pzeta) (zeta = -beta0 t, pzeta = -pt / beta0), its normal form W0 (three modes, Wolski's
eigenvector normalisation, xtrack's gauge and mode order: ``tunes.normal_form_6d``) and
W(s) = M(s) W0 along s, every mode rotated back to the Courant-Snyder gauge at every row (xtrack's
``_get_lattice_functions``). From W:

- betx, alfx, gamx = mode 1 in x (W00^2 + W01^2, ...), bety, alfy, gamy = mode 2 in y; betx2, bety1
  coupling betas [m; 1; 1/m]; these include the synchro-betatron coupling of the 6D modes, so they
  differ (slightly) from the 4D ones where the dispersion at the RF is not 0
- dx, dpx, dy, dpy: the transverse part of the synchrotron mode per unit pzeta with its zeta part
  removed, (W_i5 - W_i4 W45 / W44) / (W55 - W54 W45 / W44) [m; 1] (xtrack's dx of method 6d)
- mux, muy, muzeta: unwrapped mode phases from the start [2 pi]; qx, qy their end values, and the
  synchrotron tune qs = |muzeta at the end|
- Edwards-Teng parameters (``optics.coupling``) of the transverse blocks of W and of the one-turn
  map at s
- slip_factor_dzeta_ddelta [m]: the solution of (R - 1) x = (0, 0, 0, 0, dz, 0) has pzeta = dz /
  that; slip_factor = -(it) / L, momentum_compaction_factor = slip_factor + 1/gamma0^2; bets0 =
  W44^2 + W45^2 at the start [m], negative below transition (xtrack's definitions)

Chromatic properties as xtrack's 6d: at momentum offsets -+delta_chrom the 6D orbit that slips by
zeta_shift = offset x slip_factor_dzeta_ddelta per turn (xtrack's ``zeta_shift`` convention), its
own 6D normal form and lattice functions; the differences over the rows' delta give dmux, dmuy,
Montague's functions and dqx, dqy (``optics.chromaticity``).

The reference particle must come back with its energy (RF giving it no net gain: ShortRF at
phase -90 or 90 deg); the RF phase an RFCavity sees is that of the first pass from the given
reference's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..elements.base import Element
from ..refpart import RefPart
from .coupling import edwards_teng
from .maps import MapsAlongS, Prober, closed_orbit_6d, delta_of_pt, pt_of_delta, to_xsuite
from .tunes import J6, normal_form_6d
from .twiss import TwissTable, add_chromatic, beta_alpha_dispersion, twiss_table

__all__ = ["twiss_6d"]


def _lattice_functions_6d(maps: MapsAlongS, W0: np.ndarray, beta0: float) -> dict[str, np.ndarray]:
    """Lattice functions along s from the 6D normal form W0 at the start, as xtrack's
    ``_get_lattice_functions``: W(s) = M(s) W0 (xtrack's coordinates), each mode's eigenvector
    rotated back to the Courant-Snyder gauge (W[0, 1] = W[2, 3] = W[4, 5] = 0) at every row."""
    Mx = to_xsuite(maps.M, beta0)
    W = np.einsum("kij,jl->kil", Mx, W0)
    phase = [np.arctan2(W[:, r, r + 1], W[:, r, r]) for r in (0, 2, 4)]
    for k, ph in enumerate(phase):
        v = (W[:, :, 2 * k] + 1j * W[:, :, 2 * k + 1]) * np.exp(-1j * ph)[:, None]
        W[:, :, 2 * k], W[:, :, 2 * k + 1] = v.real, v.imag
    # dispersion: the transverse part of the synchrotron mode per unit pzeta, its zeta part removed
    den = W[:, 5, 5] - W[:, 5, 4] * W[:, 4, 5] / W[:, 4, 4]
    D = (W[:, :4, 5] - W[:, :4, 4] * (W[:, 4, 5] / W[:, 4, 4])[:, None]) / den[:, None]
    phix, phiy, phiz = (np.unwrap(ph) for ph in phase)
    qx, qy = (phix[-1] - phix[0]) / (2.0 * np.pi), (phiy[-1] - phiy[0]) / (2.0 * np.pi)
    qs = (phiz[-1] - phiz[0]) / (2.0 * np.pi)
    rot = np.zeros((6, 6))
    for k, q in enumerate((qx, qy, qs)):
        c, sn = np.cos(2 * np.pi * q), np.sin(2 * np.pi * q)
        rot[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = [[c, sn], [-sn, c]]
    T = W @ rot @ (-J6 @ np.transpose(W, (0, 2, 1)) @ J6)  # the one-turn map at s
    coupling = edwards_teng(W[:, :4, :4], qx, qy, T=T[:, :4, :4])
    return {
        **beta_alpha_dispersion(W, D),
        "mux": (phix - phix[0]) / (2.0 * np.pi),
        "muy": (phiy - phiy[0]) / (2.0 * np.pi),
        "muzeta": (phiz - phiz[0]) / (2.0 * np.pi),
        **coupling,
    }


def _check_energy_closed(prober: Prober) -> None:
    """Raise ValueError when the reference particle's energy after the last pass differs from that at
    the start: a ring whose RF (or ChrAcc) accelerates the reference has no periodic solution."""
    pt0, pt1 = float(prober.reference.pt), float(prober.sim.reference.pt)
    if abs(pt1 - pt0) > 1e-12 * abs(pt0):
        raise ValueError(
            f"the reference particle's energy changes over one period (pt {pt0!r} -> {pt1!r}): a ring with RF "
            "has a periodic 6D solution only when the RF gives the reference no net energy (ShortRF at "
            "phase = -90 or 90 deg; an RFCavity phased for zero gain at the reference's arrival time; ChrAcc with zero gradient)"
        )


def _periodic_solution_6d(
    prober: Prober, eps: float, guess: np.ndarray | None = None, t_shift: float = 0.0
) -> tuple[MapsAlongS, np.ndarray]:
    """Maps along s at the 6D closed orbit (slipping by t_shift [m] per turn) and the 6D normal form W0
    (xtrack's coordinates) at the start."""
    z0 = closed_orbit_6d(prober, guess=guess, t_shift=t_shift, eps=eps)
    maps = prober.maps(z0, eps)
    _check_energy_closed(prober)
    W0, _ = normal_form_6d(to_xsuite(maps.one_turn, prober.reference.beta))
    return maps, W0


def _slip_6d(Rx: np.ndarray) -> float:
    """xtrack's slip_factor_dzeta_ddelta of a 6D one-turn map [m]: the orbit that advances in zeta by
    dz per turn, all else periodic, has pzeta = dz / slip ((R - 1) x = (0, 0, 0, 0, dz, 0))."""
    dz = 1e-3  # linear algebra on the matrix: the value cancels
    xx = np.linalg.solve(Rx - np.eye(6), np.array([0.0, 0.0, 0.0, 0.0, dz, 0.0]))
    return float(dz / xx[5])


def twiss_6d(
    lattice: Sequence[Element],
    reference: RefPart,
    *,
    at: str = "element",
    chromaticity: bool = True,
    delta_chrom: float = 5e-5,
    eps: float = 1e-7,
) -> TwissTable:
    """The 6D periodic twiss of a ring (arguments as ``twiss.twiss``, which calls this for method "6d")."""
    if chromaticity and not delta_chrom > 0:
        raise ValueError(f"delta_chrom must be > 0, not {delta_chrom}")
    prober = Prober(lattice, reference, at=at)
    ref = prober.reference
    beta0, gamma0 = ref.beta, ref.gamma
    length = float(sum(el.ds for el in prober.sim.lattice))
    maps, W0 = _periodic_solution_6d(prober, eps)
    Rx = to_xsuite(maps.one_turn, beta0)
    slip_dzeta = _slip_6d(Rx)
    slip = -slip_dzeta / length if length > 0 else np.nan
    bets0 = float(W0[4, 4] ** 2 + W0[4, 5] ** 2)
    cols = _lattice_functions_6d(maps, W0, beta0)
    scalars: dict[str, Any] = {
        "length": length,
        "method": "6d",
        "coupling": "Mais-Ripken (betx1, betx2, bety1, bety2) and Edwards-Teng (betx_edw_teng, ..., r11_edw_teng, ...)",
        "periodic": True,
        "delta0": 0.0,
        "qx": float(cols["mux"][-1]),
        "qy": float(cols["muy"][-1]),
        "qs": float(abs(cols["muzeta"][-1])),
        "bets0": -bets0 if slip_dzeta > 0 else bets0,  # negative below transition, as xtrack
        "slip_factor_dzeta_ddelta": slip_dzeta,
        "slip_factor": slip,
        "momentum_compaction_factor": slip + 1.0 / gamma0**2,
        "R_matrix": maps.one_turn,
        "R_matrix_xsuite": Rx,
    }
    if chromaticity:
        z_co = maps.orbit[0]
        delta_co = float(delta_of_pt(z_co[5], ref))

        def off_momentum(offset: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
            """Lattice functions and delta per row on the orbit slipping by offset x slip per turn."""
            guess = z_co.copy()
            guess[5] = pt_of_delta(delta_co + offset, ref)
            zeta_shift = -offset * slip_dzeta  # xtrack's argument: the orbit returns with zeta + zeta_shift
            m, W = _periodic_solution_6d(prober, eps, guess=guess, t_shift=-zeta_shift / beta0)
            return _lattice_functions_6d(m, W, beta0), delta_of_pt(m.orbit[:, 5], ref)

        add_chromatic(cols, scalars, off_momentum(-delta_chrom), off_momentum(delta_chrom))
    else:
        scalars["dqx"] = scalars["dqy"] = np.nan
    return twiss_table(maps, ref, cols, scalars)
