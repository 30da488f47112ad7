"""Apertures: which particles they remove.

Written from the physics (textbook matrices, equations of motion), not from the C kernels.
Coordinates and units are ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum;
map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import numpy as np


def aperture_lost(x, y, ax, ay, rx=0.0, ry=0.0, shape="rectangular", action="transmit", shift_odd_x=False):
    """Which particles an aperture removes (ImpactX docs, Aperture): fold into one cell of the repeated mask, test the
    shape; shift_odd_x moves the cells of every odd row (row n = floor((y + ry/2) / ry)) by rx / 2 in x."""
    u = np.asarray(x, float).copy()
    v = np.asarray(y, float).copy()
    if shift_odd_x:
        row = np.floor((v + ry / 2) / ry).astype(np.int64)
        u = u + np.where(row % 2 != 0, rx / 2, 0.0)
    if rx > 0:
        u = np.mod(np.abs(u) + rx / 2, rx) - rx / 2
    if ry > 0:
        v = np.mod(np.abs(v) + ry / 2, ry) - ry / 2
    if shape == "rectangular":
        inside = (np.abs(u) <= ax) & (np.abs(v) <= ay)
    else:
        inside = (u / ax) ** 2 + (v / ay) ** 2 <= 1.0
    return ~inside if action == "transmit" else inside
