"""Turn-by-turn data: coordinates of chosen particles and reduced beam characteristics every N periods.

A ``TurnByTurnMonitor`` attaches to a Simulation's ``after_period`` hook (chaining a hook already
set there), so the tracking loop keeps its fused kernel launches; it samples at the lattice start,
before the first period and after every period that is a multiple of ``period_sample_intervals``
(ImpactX's BeamMonitor parameter name). ``tunes()`` analyses the recorded particles with NAFF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..diagnostics.reduced import reduced_beam_characteristics
from .tunes import naff_tune

if TYPE_CHECKING:
    from ..simulation import Simulation

_ROWS = {"x": 0, "px": 3, "y": 1, "py": 4, "t": 2, "pt": 5}


class TurnByTurnMonitor:
    """Records particles ``ids`` (default: the first 16 of the beam) and, with ``reduced``, ImpactX's
    reduced beam characteristics of the whole beam, every ``period_sample_intervals`` periods.

    Coordinates are ImpactX's (x, y [m], px, py [1], t [m], pt [1]); a lost particle reads NaN from
    the turn it is lost. Use as a context manager or call ``attach()`` / ``detach()``. An empty beam,
    or nothing to record, is a ValueError.
    """

    def __init__(
        self, sim: Simulation, ids: Iterable[int] | None = None, period_sample_intervals: int = 1, reduced: bool = False
    ):
        if period_sample_intervals < 1:
            raise ValueError(f"period_sample_intervals must be >= 1, not {period_sample_intervals}")
        self.sim = sim
        beam_ids = np.asarray(sim.beam.host(sim.beam.id))
        if beam_ids.size == 0:
            raise ValueError("the beam has no particles to record: add_particles before tracking turn by turn")
        self.ids = np.asarray(list(ids) if ids is not None else beam_ids[:16], dtype=np.int64)
        if self.ids.size == 0 and not reduced:
            raise ValueError("nothing to record: no particle ids given and reduced=False")
        index = {int(i): k for k, i in enumerate(beam_ids)}
        missing = [int(i) for i in self.ids if int(i) not in index]
        if missing:
            raise KeyError(f"particle ids {missing[:5]} are not in the beam")
        self._cols = np.array([index[int(i)] for i in self.ids], dtype=np.int64)
        self.period_sample_intervals = int(period_sample_intervals)
        self.reduced = reduced
        self.turns: list[int] = []
        self._coords: list[np.ndarray] = []
        self.reduced_rows: list[dict[str, float]] = []
        self._previous: Callable[[Any], Any] | None = None
        self._attached = False

    # --- hook ----------------------------------------------------------------------------------
    def attach(self) -> TurnByTurnMonitor:
        if not self._attached:
            self._previous = self.sim.hook.get("after_period")
            self.sim.hook["after_period"] = self._after_period
            self._attached = True
            if not self.turns or self.turns[-1] != self.sim.tracking_period:
                self.sample()
        return self

    def detach(self) -> None:
        if self._attached:
            if self._previous is not None:
                self.sim.hook["after_period"] = self._previous
            else:
                del self.sim.hook["after_period"]
            self._attached = False

    def __enter__(self) -> TurnByTurnMonitor:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def _after_period(self, sim: Simulation) -> None:
        if self._previous is not None:
            self._previous(sim)
        # the hook runs before tracking_period is incremented: this is the end of period tracking_period + 1
        turn = sim.tracking_period + 1
        if turn % self.period_sample_intervals == 0:
            self.sample(turn)

    def sample(self, turn: int | None = None) -> None:
        """Record now (``turn`` defaults to the periods tracked so far)."""
        sim = self.sim
        beam = sim.beam
        block = np.asarray(beam.host(beam.real[:6, self._cols]), dtype=float).copy()
        lost = np.asarray(beam.host(beam.state[self._cols])) != 0
        block[:, lost] = np.nan
        self.turns.append(sim.tracking_period if turn is None else turn)
        self._coords.append(block)
        if self.reduced:
            row = reduced_beam_characteristics(beam, sim.reference)
            self.reduced_rows.append({"turn": float(self.turns[-1]), **row})

    # --- results -------------------------------------------------------------------------------
    def coordinates(self, name: str) -> np.ndarray:
        """(n_samples, n_ids) array of coordinate ``name`` (x, px, y, py, t, pt)."""
        return np.array([c[_ROWS[name]] for c in self._coords])

    def to_df(self) -> pd.DataFrame:
        """Long table: one row per (turn, id) with x, px, y, py, t, pt."""
        n = len(self.ids)
        data: dict[str, Any] = {"turn": np.repeat(self.turns, n), "id": np.tile(self.ids, len(self.turns))}
        for name in _ROWS:
            data[name] = self.coordinates(name).ravel()
        return pd.DataFrame(data)

    def reduced_df(self) -> pd.DataFrame:
        """Reduced beam characteristics (ImpactX's columns) per sampled turn (needs ``reduced=True``)."""
        return pd.DataFrame(self.reduced_rows)

    def tunes(self, twiss: Any = None) -> pd.DataFrame:
        """NAFF tunes qx, qy in [0, 1) per recorded particle, from the samples (turn spacing must be 1).

        With ``twiss`` (a periodic TwissTable of the same lattice) the signals are normalised with its
        beta and alpha at the start; without, the normalisation is x - i px (fine where beta ~ 1 m is
        not needed: the frequency does not depend on it, only the leakage of the second harmonic).
        """
        if self.period_sample_intervals != 1:
            raise ValueError("tunes need a sample every period (period_sample_intervals=1)")
        out: dict[str, list[float]] = {"id": [], "qx": [], "qy": []}
        opt = {"x": (1.0, 0.0), "y": (1.0, 0.0)}
        if twiss is not None:
            opt = {
                "x": (float(twiss["betx"].iloc[0]), float(twiss["alfx"].iloc[0])),
                "y": (float(twiss["bety"].iloc[0]), float(twiss["alfy"].iloc[0])),
            }
        x, px, y, py = (self.coordinates(n) for n in ("x", "px", "y", "py"))
        for k, i in enumerate(self.ids):
            out["id"].append(int(i))
            ok = np.isfinite(x[:, k])
            out["qx"].append(naff_tune(x[ok, k], px[ok, k], *opt["x"]))
            out["qy"].append(naff_tune(y[ok, k], py[ok, k], *opt["y"]))
        return pd.DataFrame(out)


def track_turn_by_turn(
    sim: Simulation,
    periods: int,
    ids: Iterable[int] | None = None,
    period_sample_intervals: int = 1,
    reduced: bool = False,
) -> TurnByTurnMonitor:
    """Track ``periods`` periods while recording particles ``ids`` (and, with ``reduced``, the reduced
    beam characteristics) every ``period_sample_intervals`` periods; returns the monitor."""
    mon = TurnByTurnMonitor(sim, ids, period_sample_intervals, reduced)
    with mon:
        sim.track_particles(periods=periods)
    return mon
