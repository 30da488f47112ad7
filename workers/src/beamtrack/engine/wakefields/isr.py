"""Incoherent synchrotron radiation (ISR) in bends, as ImpactX 26.10's ISRPush.

Per slice of length ds in a Sbend, CFbend or ExactSbend of radius R = |rc| (ImpactX's ISRBendElement; the
ExactSbend's radius for the current reference), each alive particle of relativistic beta gamma = bg changes its
momentum by the relative amount

    dp = -tau g(chi) + sqrt(tau h(chi)) xi,    xi ~ N(0, 1) (one normal number per particle and slice),
    tau = (2/3) r_e ds (bg_ref / R)^2 bg,      chi = (bg_ref / R) (hbar / (m c)) bg,

with the Taylor polynomials in chi of ImpactX's isr_order (1: g = 1, h = h1 chi; 2: g = 1 + g1 chi,
h = h1 chi + h2 chi^2; 3: g = 1 + g1 chi + g2 chi^2, h = h1 chi + h2 chi^2 + h3 chi^3), g1 = -55 sqrt(3) / 16,
g2 = 48, h1 = 55 / (16 sqrt(3)), h2 = -28, h3 = 14245 sqrt(3) / 64. The first-order terms are the classical
mean loss and the quantum-excitation variance: with bg = gamma, <dp> = -tau = -(2/3) r_e gamma^3 ds / R^2, i.e.
U0 = C_gamma E^4 / R per 2 pi R of bend (Sands, SLAC-121 (1970), eq. 4.3 ff.), and the variance
tau h1 chi = (55 / (24 sqrt 3)) r_e (hbar / m c) gamma^5 ds / R^3 (Sands eq. 5.25 ff.).
Then (px, py) *= 1 + dp and pt = (gamma_ref - sqrt(1 + (bg (1 + dp))^2)) / bg_ref.
With isr_on_ref_part the reference loses the mean of a reference-energy particle, dp_ref = -tau(bg_ref), and the
particles' dp are taken relative to it (dp -= dp_ref), so that they stay on the new reference.

As ImpactX: r_e is the classical electron radius and m the reference mass, for any species.
Vectorised over the beam arrays (NumPy, or CuPy on the device), the normal numbers from the simulation's generator.
"""

from __future__ import annotations

import math
from typing import Any

from .. import constants

#: Taylor coefficients of g and h (ImpactX ISRPush)
G1 = -55.0 * math.sqrt(3.0) / 16.0
G2 = 48.0
H1 = 55.0 / (16.0 * math.sqrt(3.0))
H2 = -28.0
H3 = 14245.0 * math.sqrt(3.0) / 64.0
ISR_ORDERS = (1, 2, 3)


def isr_constants(ref: Any, slice_ds: float, rc: float) -> tuple[float, float, float]:
    """(c1, c2, dp_ref): tau = c1 bg, chi = c2 bg, and the reference particle's mean relative loss."""
    bg_ref = ref.beta_gamma
    b_normal = bg_ref / abs(rc)
    lambda_c = constants.hbar / (ref.mass * constants.c)
    c1 = 2.0 / 3.0 * constants.r_e * slice_ds * b_normal * b_normal
    return c1, b_normal * lambda_c, -c1 * bg_ref


def isr_push(beam: Any, ref: Any, slice_ds: float, rc: float, order: int, on_ref_part: bool, rng: Any) -> None:
    """Apply ImpactX's ISR kick of one slice [m] in a bend of radius rc [m] to the alive particles (in place)."""
    if slice_ds == 0.0:
        return
    if order not in ISR_ORDERS:
        raise ValueError(f"isr_order must be 1, 2 or 3 (ImpactX's Taylor orders), not {order!r}")
    n = beam.size
    xp = beam.xp
    c1, c2, dp_ref = isr_constants(ref, slice_ds, rc)
    if n:
        real = beam.real
        alive = beam.state[:n] == 0
        # one standard normal number per alive particle, in container order, as ImpactX's ParallelForRNG
        # (``rng``: a NumPy/CuPy generator, or AMReX's stream for ImpactX's own numbers)
        xi = xp.zeros(n)
        xi[alive] = xp.asarray(rng.standard_normal(int(alive.sum())))
        gamma_ref, bg_ref = ref.gamma, ref.beta_gamma
        pt = real[5, :n]
        gamma = gamma_ref - bg_ref * pt
        bg = xp.sqrt(gamma * gamma - 1.0)
        tau, chi = c1 * bg, c2 * bg
        if order == 1:
            g, h = 1.0, H1 * chi
        elif order == 2:
            g, h = 1.0 + G1 * chi, (H1 + H2 * chi) * chi
        else:
            g, h = 1.0 + (G1 + G2 * chi) * chi, (H1 + (H2 + H3 * chi) * chi) * chi
        dp = -tau * g + xp.sqrt(tau * h) * xi
        if on_ref_part:
            dp = dp - dp_ref
        dp = xp.where(alive, dp, 0.0)
        bg_f = bg * (1.0 + dp)
        gamma_f = xp.sqrt(1.0 + bg_f * bg_f)
        real[3, :n] *= 1.0 + dp
        real[4, :n] *= 1.0 + dp
        real[5, :n] = xp.where(alive, (gamma_ref - gamma_f) / bg_ref, pt)
    if on_ref_part:
        ref.px *= 1.0 + dp_ref
        ref.py *= 1.0 + dp_ref
        ref.pz *= 1.0 + dp_ref
        ref.pt = -math.sqrt(ref.px * ref.px + ref.py * ref.py + ref.pz * ref.pz + 1.0)
