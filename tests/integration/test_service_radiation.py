"""ISR through the whole service: a job with ``radiation.isr`` on reaches the engine and gives a different,
correct, result than the same job with it off (real Redis, local Ray actors, the REST server).

Where the expected numbers come from: the classical mean energy loss in a bend, <dE> = (2/3) r_e m c^2 gamma^4
ds / R^2 (Sands, SLAC-121 (1970), eq. 4.3 ff.; ImpactX's ISR model at isr_order 1 has that mean), compared with
the change of the beam's mean pt between the two jobs (same seed, so the same initial particles) within 5
standard errors of the mean of the per-particle change (the quantum fluctuation, measured on the same seed in
this process by the engine, Simulation.from_spec, whose final beam the service's diagnostics must equal).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation, constants
from beamtrack.spec import load_spec

from .conftest import wait_for

pytestmark = pytest.mark.integration

E_MEV, RC, DS, NPART = 2000.0, 10.0, 1.0, 2000


def bend_spec(isr: bool) -> dict[str, Any]:
    """2 GeV electrons through a 1 m sector bend of 10 m radius; an almost monoenergetic beam so that the loss,
    which scales with each particle's energy, is the reference particle's."""
    d: dict[str, Any] = {
        "name": f"isr_{'on' if isr else 'off'}",
        "reference": {"species": "electron", "kin_energy_MeV": E_MEV},
        "beam": {
            "npart": NPART,
            "seed": 7,
            "bunch_charge_C": 1e-12,
            "distribution": {
                "type": "Gaussian",
                "lambdaX": 1e-4,
                "lambdaY": 1e-4,
                "lambdaT": 1e-4,
                "lambdaPx": 1e-5,
                "lambdaPy": 1e-5,
                "lambdaPt": 1e-8,
            },
        },
        "lattice": {"periods": 1, "elements": [{"type": "Sbend", "name": "b1", "ds": DS, "rc": RC, "nslice": 4}]},
    }
    if isr:
        d["radiation"] = {"isr": True}
    return d


def final_mean_pt(rest_client: Any, spec: dict[str, Any]) -> float:
    job = rest_client.submit(copy.deepcopy(spec))
    wait_for(lambda: rest_client.get(job["id"])["state"] in ("succeeded", "failed"), timeout=120, what="job end")
    assert rest_client.get(job["id"])["state"] == "succeeded", rest_client.get(job["id"])
    return float(rest_client.diagnostics(job["id"])[-1]["mean_pt"])


def test_isr_on_differs_from_off_by_the_textbook_loss(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Path
) -> None:
    c = rest(server_factory(scheduler=True))
    off, on = final_mean_pt(c, bend_spec(False)), final_mean_pt(c, bend_spec(True))
    # the same jobs in this process: the per-particle change and its spread
    beams = []
    for isr in (False, True):
        sim = Simulation.from_spec(load_spec(bend_spec(isr)), tmp_path / str(isr), kind="serial")
        sim.track_particles()
        beams.append(sim.beam.to_df().sort_values("id")["momentum_t"].to_numpy())
        sim.finalize()
    dpt = beams[1] - beams[0]
    assert on == pytest.approx(float(beams[1].mean()), rel=1e-9, abs=1e-15)
    assert off == pytest.approx(float(beams[0].mean()), rel=1e-9, abs=1e-15)
    gamma = 1.0 + E_MEV / constants.me_MeV
    r_e = constants.r_e
    loss_MeV = 2.0 / 3.0 * r_e * constants.me_MeV * gamma**4 * DS / RC**2
    pc_MeV = constants.me_MeV * math.sqrt(gamma**2 - 1.0)
    expected = loss_MeV / pc_MeV  # pt = -dE / (p0 c): an energy loss raises pt
    se = float(dpt.std(ddof=1)) / math.sqrt(NPART)
    assert abs((on - off) - expected) < 5.0 * se, (on - off, expected, se)
    assert abs(on - off) > 20.0 * se  # ISR really acted (the loss is many standard errors)
    assert np.all(np.isfinite(dpt))
