"""Longitudinal particle boundary conditions, as ImpactX 26.10's ParticleBoundary (algo.particle_bc).

Applied after the push of every slice of every element (zero-length ones included), with the bucket of length
L = bucket_length [m] along the orbit, i.e. of duration D = L / beta_ref in ImpactX's t [m]:
- "open": nothing (ImpactX's default);
- "periodic": t -> fmod(fmod(t + D/2, D) + D, D) - D/2 (phase wrapping into [-D/2, D/2));
- "absorbing": a particle with |t| >= D/2 is lost (state LOST_BUCKET, s_lost = the reference's s);
- "reflecting": t > D/2 -> D - t, t < -D/2 -> -D - t, and pt -> -pt for the reflected particle.
Vectorised over the beam arrays (NumPy, or CuPy on the device).
"""

from __future__ import annotations

from typing import Any

PARTICLE_BCS = ("open", "periodic", "absorbing", "reflecting")
#: state of a particle absorbed at the bucket boundary
LOST_BUCKET = 1


def check_particle_bc(bc: str, bucket_length: float) -> None:
    if bc not in PARTICLE_BCS:
        raise ValueError(f"particle_bc must be one of {', '.join(PARTICLE_BCS)}, not {bc!r}")
    if bc != "open" and not bucket_length > 0.0:
        raise ValueError(
            f"particle_bc = {bc!r} needs a bucket length > 0 [m] (set_bucket_length), not {bucket_length!r}"
        )


def apply_particle_bc(beam: Any, ref: Any, bc: str, bucket_length: float) -> None:
    """Apply the boundary condition ``bc`` to the alive particles of ``beam`` (in place)."""
    if bc == "open" or beam.size == 0:
        return
    check_particle_bc(bc, bucket_length)
    xp, n = beam.xp, beam.size
    alive = beam.state[:n] == 0
    t = beam.real[2, :n]
    D = bucket_length / ref.beta
    half = 0.5 * D
    if bc == "periodic":
        beam.real[2, :n] = xp.where(alive, xp.fmod(xp.fmod(t + half, D) + D, D) - half, t)
    elif bc == "absorbing":
        out = alive & ~(xp.abs(t) < half)
        beam.state[:n] = xp.where(out, LOST_BUCKET, beam.state[:n])
        beam.s_lost[:n] = xp.where(out, ref.s, beam.s_lost[:n])
    else:
        hi, lo = alive & (t > half), alive & (t < -half)
        beam.real[2, :n] = xp.where(hi, D - t, xp.where(lo, -D - t, t))
        beam.real[5, :n] = xp.where(hi | lo, -beam.real[5, :n], beam.real[5, :n])
