"""Beam particles as a structure of arrays in one contiguous block (NumPy on the CPU, CuPy on a GPU).

Coordinates are ImpactX's, relative to the reference particle: x, y [m], t = c * (arrival time - reference
arrival time) [m], px, py [1] (normalised by the reference momentum p0), pt = -dE / (p0 c) [1].
weight = number of physical particles per macroparticle; id >= 1; state 0 = alive, > 0 = lost.
With spin (``has_spin``; allocated when spins are added or spin tracking starts) rows 7..9 of the
block hold each particle's spin vector (sx, sy, sz) [1], in the Frenet-Serret frame of the reference
(x, y, s), as ImpactX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import constants

#: Rows of the float64 block, in order; ImpactX's names for the public views.
REAL_ROWS = ("x", "y", "t", "px", "py", "pt", "weight")
IMPACTX_NAMES = {
    "x": "position_x",
    "y": "position_y",
    "t": "position_t",
    "px": "momentum_x",
    "py": "momentum_y",
    "pt": "momentum_t",
    "weight": "weighting",
}
#: Rows 7..9 of a beam with spin, and ImpactX's names for them
SPIN_ROWS = ("sx", "sy", "sz")
SPIN_NAMES = {"sx": "spin_x", "sy": "spin_y", "sz": "spin_z"}


class BeamError(ValueError):
    """Bad particle data given to the beam (shapes, non-finite values)."""


class ParticleContainer:
    """Beam particles: ``real`` is a (7, capacity) float64 block, rows ``REAL_ROWS``; ``id``, ``state`` 1D.

    ``xp`` is the array module (numpy or cupy). Lost particles stay in place with state > 0 and
    their coordinates frozen at the loss point; ``s_lost`` records where [m].
    """

    def __init__(self, xp: Any = np, qm: float = -constants.qe / (constants.me_MeV / constants.MeV_per_kg)):
        self.xp = xp
        self.qm = float(qm)  #: charge / mass of the species [C/kg]
        self.real = xp.zeros((len(REAL_ROWS), 0), dtype=xp.float64)
        self.id = xp.zeros(0, dtype=xp.int64)
        self.state = xp.zeros(0, dtype=xp.int32)
        self.s_lost = xp.zeros(0, dtype=xp.float64)
        self._next_id = 1

    # --- sizes --------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of macroparticles held, lost ones included."""
        return int(self.real.shape[1])

    def total_number_of_particles(self, include_lost: bool = False) -> int:
        """Macroparticles alive (ImpactX's name); with include_lost, all of them."""
        if include_lost:
            return self.size
        return int((self.state == 0).sum())

    @property
    def alive(self) -> Any:
        """Boolean mask of particles still alive."""
        return self.state == 0

    # --- views --------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in REAL_ROWS:
            return self.real[REAL_ROWS.index(name)]
        if name in SPIN_ROWS:
            if not self.has_spin:
                raise AttributeError(f"{name}: this beam carries no spin (add spins or enable spin tracking)")
            return self.real[len(REAL_ROWS) + SPIN_ROWS.index(name)]
        raise AttributeError(name)

    @property
    def has_spin(self) -> bool:
        """Whether the block holds spin rows (7..9)."""
        return int(self.real.shape[0]) == len(REAL_ROWS) + len(SPIN_ROWS)

    def enable_spin(self) -> None:
        """Allocate the spin rows (zero spin for the particles held, as ImpactX's default) if absent."""
        if self.has_spin:
            return
        xp = self.xp
        zeros = xp.zeros((len(SPIN_ROWS), self.size), dtype=xp.float64)
        self.real = xp.ascontiguousarray(xp.concatenate([self.real, zeros], axis=0))

    def arrays(self) -> dict[str, Any]:
        """Live views of the particle data, keyed by ImpactX's names (position_x, ..., momentum_t,
        weighting, and spin_x/y/z with spin) plus id and state: writes land in the beam, no copies.
        They export DLPack."""
        out = {IMPACTX_NAMES[r]: self.real[i] for i, r in enumerate(REAL_ROWS)}
        if self.has_spin:
            out.update((SPIN_NAMES[r], self.real[len(REAL_ROWS) + i]) for i, r in enumerate(SPIN_ROWS))
        out["id"] = self.id
        out["state"] = self.state
        return out

    # --- filling ------------------------------------------------------------------------------
    def add_n_particles(
        self,
        x: Any,
        y: Any,
        t: Any,
        px: Any,
        py: Any,
        pt: Any,
        qm: float,
        bunch_charge: float,
        sx: Any = None,
        sy: Any = None,
        sz: Any = None,
    ) -> None:
        """Append particles from arrays (ImpactX signature).

        qm: charge/mass [C/kg]; bunch_charge: charge [C] of the particles added (|q| sets weights);
        sx, sy, sz: spin components [1] (all three or none; a beam without spin rows gets them, zero
        for the particles it held; particles added without spin to a beam with spin get zero spin).
        """
        xp = self.xp
        cols = [xp.asarray(a, dtype=xp.float64).ravel() for a in (x, y, t, px, py, pt)]
        spins = [s for s in (sx, sy, sz) if s is not None]
        if spins and len(spins) != 3:
            raise BeamError("give all three spin components sx, sy, sz or none")
        names = ["x", "y", "t", "px", "py", "pt"]
        if spins:
            cols += [xp.asarray(a, dtype=xp.float64).ravel() for a in spins]
            names += list(SPIN_ROWS)
        n = cols[0].size
        for name, c in zip(names, cols, strict=True):
            if c.size != n:
                raise BeamError(f"{name} has {c.size} values, x has {n}")
            if n and not bool(xp.isfinite(c).all()):
                raise BeamError(f"{name} contains non-finite values")
        if n == 0:
            return
        if self.size and qm != self.qm:
            raise BeamError(f"qm {qm} differs from the beam's {self.qm} (one species per beam)")
        self.qm = float(qm)
        if spins:
            self.enable_spin()
        weight = abs(bunch_charge) / constants.qe / n
        block = xp.zeros((self.real.shape[0], n), dtype=xp.float64)
        for i, c in enumerate(cols[:6]):
            block[i] = c
        block[6] = weight
        for i, c in enumerate(cols[6:]):
            block[len(REAL_ROWS) + i] = c
        self.real = xp.ascontiguousarray(xp.concatenate([self.real, block], axis=1))
        self.id = xp.concatenate([self.id, xp.arange(self._next_id, self._next_id + n, dtype=xp.int64)])
        self.state = xp.concatenate([self.state, xp.zeros(n, dtype=xp.int32)])
        self.s_lost = xp.concatenate([self.s_lost, xp.zeros(n, dtype=xp.float64)])
        self._next_id += n

    def to_device(self, xp: Any) -> None:
        """Move the data to another array module (numpy <-> cupy) in place."""
        if xp is self.xp:
            return
        conv = (lambda a: xp.asarray(a)) if xp is not np else (lambda a: a.get())
        self.real = xp.ascontiguousarray(conv(self.real))
        self.id, self.state, self.s_lost = conv(self.id), conv(self.state), conv(self.s_lost)
        self.xp = xp

    # --- exports ------------------------------------------------------------------------------
    def host(self, a: Any) -> np.ndarray:
        return a if self.xp is np else a.get()

    def to_df(self, local: bool = True, include_lost: bool = False) -> Any:
        """A pandas DataFrame with ImpactX's columns: position_x/y/t, momentum_x/y/t, qm, weighting
        (spin_x/y/z with spin), id."""
        import pandas as pd

        mask = slice(None) if include_lost else self.host(self.alive)
        data = {IMPACTX_NAMES[r]: self.host(self.real[i])[mask] for i, r in enumerate(REAL_ROWS) if r != "weight"}
        data["qm"] = np.full(len(data["position_x"]), self.qm)
        data["weighting"] = self.host(self.real[6])[mask]
        if self.has_spin:
            for i, r in enumerate(SPIN_ROWS):
                data[SPIN_NAMES[r]] = self.host(self.real[len(REAL_ROWS) + i])[mask]
        data["id"] = self.host(self.id)[mask]
        if include_lost:
            data["state"] = self.host(self.state)
            data["s_lost"] = self.host(self.s_lost)
        return pd.DataFrame(data)

    def lost_to_df(self) -> Any:
        """Particles lost so far with the s [m] where each was lost (ImpactX's lost-particle record)."""
        df = self.to_df(include_lost=True)
        return df[df["state"] > 0].reset_index(drop=True)
