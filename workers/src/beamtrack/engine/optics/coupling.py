"""Edwards-Teng coupling parameters from the normal form W(s) of the 4D motion.

Edwards-Teng (D. A. Edwards, L. C. Teng, IEEE Trans. Nucl. Sci. 20 (1973) 885; in the form of
D. Sagan, D. Rubin, PRST-AB 2 (1999) 074001): the one-turn map T = [[M, m], [n, N]] (2x2 blocks)
is V U V^-1 with U block-diagonal (the two decoupled modes a, b) and V = [[g I, C], [-C^+, g I]],
g^2 + det C = 1, where A^+ = [[d, -b], [-c, a]] is the symplectic conjugate of A = [[a, b], [c, d]].

From the Mais-Ripken form W (``tunes.normal_form_4d``), W[0:2, 0:2] = g B_a with B_a a
Courant-Snyder matrix, so det W[0:2, 0:2] = g^2 and betx1 gamx1 - alfx1^2 = g^4:
betx_edw_teng = betx1 / g^2, alfx_edw_teng = alfx1 / g^2 and bety_edw_teng = bety2 / g^2,
alfy_edw_teng = alfy2 / g^2 (the mode-b block W[2:4, 2:4] = g B_b). The coupling matrix R
(MAD-X's R11, R12, R21, R22 of twiss) is (n + m^+) / -(Delta/2 + sgn(Delta) sqrt(det(n + m^+) +
Delta^2/4)), Delta = tr M - tr N, of the one-turn map at s, T(s) = W(s) Rot(q1, q2) W(s)^-1;
it is 0 without coupling (off-diagonal blocks below 1e-10, xtrack's threshold), equal tunes included.
"""

from __future__ import annotations

import numpy as np

from .tunes import J4

#: the columns ``edwards_teng`` adds to a Twiss table
EDWARDS_TENG_COLUMNS = (
    "betx_edw_teng",
    "alfx_edw_teng",
    "bety_edw_teng",
    "alfy_edw_teng",
    "g_edw_teng",
    "r11_edw_teng",
    "r12_edw_teng",
    "r21_edw_teng",
    "r22_edw_teng",
)


def _conj(A: np.ndarray) -> np.ndarray:
    """Symplectic conjugates of 2x2 matrices (..., 2, 2)."""
    out = np.empty_like(A)
    out[..., 0, 0], out[..., 0, 1] = A[..., 1, 1], -A[..., 0, 1]
    out[..., 1, 0], out[..., 1, 1] = -A[..., 1, 0], A[..., 0, 0]
    return out


def _rot(mu: float) -> np.ndarray:
    c, s = np.cos(mu), np.sin(mu)
    return np.array([[c, s], [-s, c]])


def edwards_teng(W: np.ndarray, q1: float, q2: float, T: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Edwards-Teng columns (``EDWARDS_TENG_COLUMNS``) from W (n, 4, 4), the symplectic normal form
    along s, and the tunes q1, q2 [1] of its modes. T (n, 4, 4): the transverse block of the one-turn
    map at s where W is the transverse block of a 6D normal form (a ring with RF); by default
    T = W Rot(q1, q2) W^-1."""
    Wx, Wy = W[:, 0:2, 0:2], W[:, 2:4, 2:4]
    g2 = np.abs(np.linalg.det(Wx))
    out = {
        "betx_edw_teng": (Wx[:, 0, 0] ** 2 + Wx[:, 0, 1] ** 2) / g2,
        "alfx_edw_teng": -(Wx[:, 0, 0] * Wx[:, 1, 0] + Wx[:, 0, 1] * Wx[:, 1, 1]) / g2,
        "bety_edw_teng": (Wy[:, 0, 0] ** 2 + Wy[:, 0, 1] ** 2) / g2,
        "alfy_edw_teng": -(Wy[:, 0, 0] * Wy[:, 1, 0] + Wy[:, 0, 1] * Wy[:, 1, 1]) / g2,
        "g_edw_teng": np.sqrt(g2),
    }
    if T is None:
        rot = np.zeros((4, 4))
        rot[0:2, 0:2], rot[2:4, 2:4] = _rot(2 * np.pi * q1), _rot(2 * np.pi * q2)
        W_inv = -J4 @ np.transpose(W, (0, 2, 1)) @ J4  # the inverse of a symplectic matrix
        T = W @ rot @ W_inv
    M, m, n, N = T[:, 0:2, 0:2], T[:, 0:2, 2:4], T[:, 2:4, 0:2], T[:, 2:4, 2:4]
    H = n + _conj(m)
    delta = np.trace(M, axis1=1, axis2=2) - np.trace(N, axis1=1, axis2=2)
    sign = np.where(delta >= 0.0, 1.0, -1.0)
    denom = -(0.5 * delta + sign * np.sqrt(np.abs(np.linalg.det(H) + 0.25 * delta**2)))
    # uncoupled (as xtrack decides: both off-diagonal blocks below 1e-10): R = 0, also at equal tunes
    uncoupled = (np.linalg.norm(m, axis=(1, 2)) < 1e-10) & (np.linalg.norm(n, axis=(1, 2)) < 1e-10)
    safe = np.where(uncoupled | (denom == 0.0), 1.0, denom)
    R = np.where(uncoupled[:, None, None], 0.0, H / safe[:, None, None])
    R[~uncoupled & (denom == 0.0)] = np.nan  # coupled at a degenerate point: no Edwards-Teng form
    for i in range(2):
        for j in range(2):
            out[f"r{i + 1}{j + 1}_edw_teng"] = R[:, i, j]
    return out
