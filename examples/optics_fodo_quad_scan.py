"""Study 1: a FODO ring's tunes and chromaticities while the quad strengths are scanned.

For each k of the focusing quads (the defocusing ones at -0.9 k): ``sim.lattice.twiss()``
(periodic, from the engine's own maps). Below about k = 0.45 1/m^2 the cell is unstable
(|cos mu| > 1), which twiss reports as UnstableMotionError; such points are
skipped. Writes fodo_quad_scan.png (tunes and chromaticities vs k) and fodo_twiss.png.

Run: MPLBACKEND=Agg python examples/optics_fodo_quad_scan.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from beamtrack.engine import Simulation, elements
from beamtrack.engine.optics import UnstableMotionError


def ring(kf: float, cells: int = 6) -> Simulation:
    kd = -0.9 * kf
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    for c in range(cells):
        sim.lattice.extend([
            elements.ChrQuad(name=f"qf{c}", ds=0.4, k=kf, nslice=4),
            elements.ChrDrift(name=f"d{c}a", ds=1.1),
            elements.ChrQuad(name=f"qd{c}", ds=0.4, k=kd, nslice=4),
            elements.ChrDrift(name=f"d{c}b", ds=1.1),
        ])
    return sim


def main(out: str = "out/fodo_quad_scan") -> dict[str, Any]:
    import matplotlib.pyplot as plt

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    ks = np.linspace(0.5, 1.7, 13)
    rows = []
    for k in ks:
        try:
            tw = ring(float(k)).lattice.twiss()
        except UnstableMotionError:
            continue
        rows.append((k, tw.qx, tw.qy, tw.dqx, tw.dqy, tw["betx"].max(), tw["bety"].max()))
        print(f"k = {k:.3f} 1/m^2: qx = {tw.qx:.5f}, qy = {tw.qy:.5f}, dqx = {tw.dqx:.4f}, dqy = {tw.dqy:.4f}")
    res = np.array(rows)
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    a1.plot(res[:, 0], res[:, 1], "o-", label="qx")
    a1.plot(res[:, 0], res[:, 2], "s-", label="qy")
    a1.set_ylabel("tune")
    a1.legend()
    a2.plot(res[:, 0], res[:, 3], "o-", label="dqx")
    a2.plot(res[:, 0], res[:, 4], "s-", label="dqy")
    a2.set_ylabel(r"dQ/d$\delta$")
    a2.set_xlabel(r"k of the focusing quads [1/m$^2$]")
    a2.legend()
    fig.tight_layout()
    fig.savefig(outdir / "fodo_quad_scan.png", dpi=110)
    nominal = ring(0.6)
    tw = nominal.lattice.twiss(at="slice")
    tw.plot(lattice=nominal.lattice, path=outdir / "fodo_twiss.png")
    return {"k": res[:, 0], "qx": res[:, 1], "qy": res[:, 2], "dqx": res[:, 3], "dqy": res[:, 4], "twiss": tw}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/fodo_quad_scan")
    main(ap.parse_args().out)
