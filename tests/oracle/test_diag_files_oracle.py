"""ImpactX 26.10's ASCII diagnostics files (reduced_beam_characteristics.0, ref_particle.0 and their _final),
written by beamtrack as ImpactX writes them: file names, headers, rows, step, period and values.

Where the expected files come from: ImpactX 26.10 itself (PyPI impactx-noacc in .venv-impactx,
scripts/setup_oracle.sh) running the same script (below, with its import renamed for beamtrack.impactx) on
the same 200 particles (numpy PCG64, seed 3, in both venvs) through a drift and a quadrupole, with and
without slice_step_diagnostics, over 1 and 3 periods, in particle and envelope tracking. Compared: the set
of files, each header, the step and period columns exactly, s to 4 ulp (exact where beamtrack pushes the
reference slice by slice, as ImpactX does; its fused groups replay a recorded period's ds, which rounds
differently), every other value to 1e-10 relative (the per-element oracle's bound,
tests/oracle/test_impactx_oracle.py) of the column's largest magnitude.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from beamtrack.spec.diag_files import REDUCED_FILE, REDUCED_FINAL_FILE, REF_PARTICLE_FILE, REF_PARTICLE_FINAL_FILE

pytestmark = pytest.mark.physics

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / ".venv-impactx" / "bin" / "python"
RTOL = 1e-10
FILES = [f"{n}.0" for n in (REDUCED_FILE, REDUCED_FINAL_FILE, REF_PARTICLE_FILE, REF_PARTICLE_FINAL_FILE)]
EXACT = ("step", "period")
S_RTOL = 4 * np.finfo(float).eps

SCRIPT = """
import sys
import numpy as np
from impactx import ImpactX, distribution, elements

slice_step, periods, mode = sys.argv[1] == "1", int(sys.argv[2]), sys.argv[3]
sim = ImpactX()
sim.particle_shape = 2
sim.slice_step_diagnostics = slice_step
sim.init_grids()
ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(2.0e3)
if mode == "envelope":
    distr = distribution.Waterbag(
        lambdaX=3.9e-6, lambdaY=3.9e-6, lambdaT=1e-3, lambdaPx=2.6e-7, lambdaPy=2.6e-7, lambdaPt=2e-3
    )
    sim.init_envelope(ref, distr, 0.0)
else:
    rng = np.random.default_rng(3)
    n = 200
    x, y, t = rng.normal(0.0, 4e-6, n), rng.normal(0.0, 4e-6, n), rng.normal(0.0, 1e-3, n)
    px, py, pt = rng.normal(0.0, 3e-7, n), rng.normal(0.0, 3e-7, n), rng.normal(0.0, 2e-3, n)
    sim.beam.add_n_particles(x, y, t, px, py, pt, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-9)
sim.lattice.extend([elements.Drift(name="d", ds=0.25, nslice=2), elements.Quad(name="q", ds=0.1, k=1.0, nslice=3)])
sim.periods = periods
if mode == "envelope":
    sim.track_envelope()
else:
    sim.track_particles()
sim.finalize()
"""


def _run(python: Path, script: str, args: list[str], run_dir: Path, env: dict[str, str]) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "run.py").write_text(script)
    r = subprocess.run(
        [str(python), "run.py", *args], cwd=run_dir, capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, f"{python}: {(r.stderr or r.stdout)[-3000:]}"
    return run_dir / "diags"


@pytest.mark.parametrize(
    ("slice_step", "periods", "mode"),
    [("0", "1", "particles"), ("1", "3", "particles"), ("0", "3", "particles"), ("1", "3", "envelope")],
)
def test_diagnostics_files_match_impactx(slice_step: str, periods: str, mode: str, tmp_path: Path) -> None:
    if not ORACLE.exists():
        pytest.skip("ImpactX oracle venv .venv-impactx missing: run scripts/setup_oracle.sh")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", BEAMTRACK_KIND="serial")
    args = [slice_step, periods, mode]
    ix = _run(ORACLE, SCRIPT, args, tmp_path / "ix", env)
    renamed = SCRIPT.replace("from impactx import", "from beamtrack.impactx import")
    bt = _run(Path(sys.executable), renamed, args, tmp_path / "bt", env)
    assert sorted(p.name for p in ix.glob("*.0*")) == sorted(FILES)
    assert sorted(p.name for p in bt.glob("*.0*")) == sorted(FILES)
    for name in FILES:
        want_head = (ix / name).read_text().splitlines()[0]
        assert (bt / name).read_text().splitlines()[0] == want_head, name
        want, got = pd.read_csv(ix / name, sep=r"\s+"), pd.read_csv(bt / name, sep=r"\s+")
        assert list(got.columns) == list(want.columns) and len(got) == len(want), name
        for c in want.columns:
            w, g = want[c].to_numpy(), got[c].to_numpy()
            if c in EXACT:
                np.testing.assert_array_equal(g, w, err_msg=f"{name} {c}")
            elif c == "s":
                np.testing.assert_allclose(g, w, rtol=S_RTOL, atol=0, err_msg=f"{name} {c}")
            else:
                scale = np.nanmax(np.abs(w)) if np.isfinite(w).any() else 0.0
                np.testing.assert_allclose(g, w, rtol=0, atol=RTOL * scale, err_msg=f"{name} {c}")
    if slice_step == "1":  # one row per slice after the initial one, each in its 0-based period
        df = pd.read_csv(bt / f"{REDUCED_FILE}.0", sep=r"\s+")
        assert df["step"].tolist() == list(range(5 * int(periods) + 1))
        assert df["period"].tolist() == [0] + [p for p in range(int(periods)) for _ in range(5)]
