"""Tunes: the linear normal form of a one-turn map, and the tune of turn-by-turn data (NAFF).

Normal form (coupled 4D, as in Wolski, "Beam Dynamics in High Energy Particle Accelerators", ch. 7):
for each eigenmode k of the 4x4 transverse map R take the eigenvector v_k with
Im(v_k^H J v_k) > 0, scaled so that v_k^H J v_k = 2i (J the symplectic form); then
W = [Re v_1, Im v_1, Re v_2, Im v_2] is symplectic, R = W Rot(mu_1, mu_2) W^-1 and the eigenvalue of
v_k is exp(i mu_k). Mode 1 is the one with the larger horizontal part. The phase of each v_k is
fixed so that W[0, 1] = W[2, 3] = 0 (Courant-Snyder gauge), the convention xtrack uses.

``normal_form_6d`` does the same for the 6x6 one-turn map of a ring with RF, on xtrack's coordinates
(x, px, y, py, zeta, pzeta): three modes, W[0, 1] = W[2, 3] = W[4, 5] = 0, and xtrack's ordering of
the modes (``linear_normal_form.sort_modes``): mode 3 the one with the largest |v[pzeta]|, then
mode 2 the one of the other two with the larger |v[y]|.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_J2 = np.array([[0.0, 1.0], [-1.0, 0.0]])
J4 = np.block([[_J2, np.zeros((2, 2))], [np.zeros((2, 2)), _J2]])
J6 = np.kron(np.eye(3), _J2)


class UnstableMotionError(ArithmeticError):
    """The one-turn map has no stable (unit-modulus, distinct) eigenvalues: no periodic optics."""


def _normalised_modes(lam: np.ndarray, V: np.ndarray, J: np.ndarray) -> list[tuple[np.ndarray, complex]]:
    """The eigenvectors v (columns of V) with Im(v^H J v) > 0, scaled to Im(v^H J v) = 2 (one of each complex
    conjugate pair), with their eigenvalues."""
    modes: list[tuple[np.ndarray, complex]] = []
    for k in range(V.shape[1]):
        v = V[:, k]
        q = (v.conj() @ J @ v).imag
        if q > 0:
            modes.append((v * np.sqrt(2.0 / q), lam[k]))
    return modes


def normal_form_4d(R4: np.ndarray, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """W (4x4, symplectic, Courant-Snyder gauge) and the fractional tunes (q1, q2) in [0, 1) of the
    4x4 transverse one-turn map R4."""
    lam, V = np.linalg.eig(np.asarray(R4, dtype=float))
    if np.any(np.abs(np.abs(lam) - 1.0) > tol) or np.any(np.abs(lam.imag) < 1e-14):
        raise UnstableMotionError(
            f"one-turn map eigenvalues {np.round(lam, 8)} are not on the unit circle: "
            "the lattice has no stable periodic optics"
        )
    modes = _normalised_modes(lam, V, J4)
    if len(modes) != 2:
        raise UnstableMotionError("could not separate the two transverse eigenmodes of the one-turn map")
    modes.sort(key=lambda m: -(abs(m[0][0]) ** 2 + abs(m[0][1]) ** 2))
    W = np.empty((4, 4))
    tunes = np.empty(2)
    for k, (v, lk) in enumerate(modes):
        v = v * np.exp(-1j * np.angle(v[2 * k]))
        W[:, 2 * k], W[:, 2 * k + 1] = v.real, v.imag
        tunes[k] = (np.angle(lk) / (2.0 * np.pi)) % 1.0
    return W, tunes


def normal_form_6d(R6: np.ndarray, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """W (6x6, symplectic, W[0, 1] = W[2, 3] = W[4, 5] = 0) and the fractional tunes (q1, q2, q3) in
    [0, 1) of the 6x6 one-turn map R6 on (x, px, y, py, zeta, pzeta); mode 3 is the synchrotron mode."""
    lam, V = np.linalg.eig(np.asarray(R6, dtype=float))
    if np.any(np.abs(np.abs(lam) - 1.0) > tol) or np.any(np.abs(lam.imag) < 1e-14):
        raise UnstableMotionError(
            f"6D one-turn map eigenvalues {np.round(lam, 10)} are not on the unit circle: no stable "
            "periodic optics (the RF phase may be on the unstable side of transition, or the RF too strong)"
        )
    modes = _normalised_modes(lam, V, J6)
    if len(modes) != 3:
        raise UnstableMotionError("could not separate the three eigenmodes of the 6D one-turn map")
    # numpy's unit-norm eigenvectors order the modes, as xtrack's sort_modes does
    unit = [v / np.linalg.norm(v) for v, _ in modes]
    order = [0, 1, 2]
    for i in (0, 1):
        if abs(unit[order[2]][5]) < abs(unit[order[i]][5]):
            order[2], order[i] = order[i], order[2]
    if abs(unit[order[1]][2]) < abs(unit[order[0]][2]):
        order[0], order[1] = order[1], order[0]
    W = np.empty((6, 6))
    tunes = np.empty(3)
    for k, m in enumerate(order):
        v, lk = modes[m]
        v = v * np.exp(-1j * np.angle(v[2 * k]))
        W[:, 2 * k], W[:, 2 * k + 1] = v.real, v.imag
        tunes[k] = (np.angle(lk) / (2.0 * np.pi)) % 1.0
    return W, tunes


def fractional_tunes(R4: np.ndarray) -> np.ndarray:
    """Fractional tunes (q1, q2) in [0, 1) of a 4x4 transverse one-turn map."""
    return normal_form_4d(R4)[1]


def naff_tune(x: Any, px: Any = None, beta: float | None = None, alpha: float = 0.0) -> float:
    """The main frequency [1/turn] of turn-by-turn data, by NAFF (Laskar's method, ``nafflib``,
    the Xsuite team's implementation, Hann window of order 2).

    With ``px`` the signal is the complex normalised x - i (alpha x + beta px) / beta and the tune is
    in [0, 1); with x alone the real signal gives the tune folded into [0, 0.5].
    """
    import nafflib

    x = np.asarray(x, dtype=float)
    if px is None:
        return float(nafflib.tune(x, window_order=2, window_type="hann"))
    b = 1.0 if beta is None else float(beta)
    z = x / np.sqrt(b) - 1j * (alpha * x + b * np.asarray(px, dtype=float)) / np.sqrt(b)
    return float(nafflib.tune(z, window_order=2, window_type="hann")) % 1.0
