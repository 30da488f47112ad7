"""``impactx.wakeconvolution`` (ImpactX 26.10's wake functions and 1D charge tools) against the real ImpactX on the
same arguments and particles.

Where the expected numbers come from: ImpactX 26.10 (PyPI impactx-noacc) evaluating its own functions in the oracle
venv (the script below, run as a subprocess). Both codes evaluate the same closed forms in double precision:
agreement to 1e-12 relative (measured <= 3e-14: the FFT convolution of random inputs; the closed forms <= 4e-16).
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, amrex, wakeconvolution

pytestmark = pytest.mark.physics

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / ".venv-impactx" / "bin" / "python"
S = np.concatenate([np.linspace(-2e-3, 2e-3, 41), [0.0, 1e-9, -1e-9]])
PIPES = [(0.01, 0.02, 0.5), (0.035, 0.1, 1.2)]
BENDS = [(5.0, 1e-6), (12.0, 4e-6)]

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import amrex.space3d as amr
    from impactx import ImpactX, wakeconvolution as wc
    d = np.load(sys.argv[1])
    out = {}
    S = d["S"]
    out["alpha"] = np.array([wc.alpha(abs(s)) for s in S])
    out["step"] = np.array([wc.unit_step(s) for s in S])
    for k, (a, g, L) in enumerate(d["pipes"]):
        out[f"wl{k}"] = np.array([wc.w_l_rf(s, a, g, L) for s in S])
        out[f"wt{k}"] = np.array([wc.w_t_rf(s, a, g, L) for s in S])
    for k, (R, b) in enumerate(d["bends"]):
        out[f"csr{k}"] = np.array([wc.w_l_csr(s, R, b) for s in S])
    slope = amr.PODVector_real_std(); slope.resize(d["slope"].size); slope.to_numpy()[:] = d["slope"]
    wake = amr.PODVector_real_std(); wake.resize(d["wake"].size); wake.to_numpy()[:] = d["wake"]
    out["conv"] = np.array(wc.convolve_fft(slope, wake, 2.5e-6).to_numpy(), copy=True)
    prof = amr.PODVector_real_std(); prof.resize(d["prof"].size); prof.to_numpy()[:] = d["prof"]
    sl = amr.PODVector_real_std(); sl.resize(d["prof"].size - 1)
    wc.derivative_charge(prof, sl, 2.5e-6, True)
    out["deriv"] = np.array(sl.to_numpy(), copy=True)
    sim = ImpactX(); sim.diagnostics = False; sim.init_grids()
    ref = sim.beam.ref; ref.set_species("electron").set_kin_energy_MeV(100.0)
    p = d["particles"]
    sim.beam.add_n_particles(*[np.ascontiguousarray(c) for c in p[:6]], ref.charge_qe / (ref.mass_MeV * 1e6),
                             w=np.ascontiguousarray(p[6]))
    for unity in (False, True):
        cd = amr.PODVector_real_std(); cd.resize(40); cd.to_numpy()[:] = 0.0
        wc.deposit_charge(sim.beam, cd, -2e-4, 1e-5, unity)
        out[f"dep{int(unity)}"] = np.array(cd.to_numpy(), copy=True)
    np.savez(sys.argv[2], **out)
    sim.finalize()
""")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    if not ORACLE.exists():
        pytest.skip("no ImpactX oracle venv (.venv-impactx; scripts/setup_oracle.sh)")
    d = tmp_path_factory.mktemp("wake_oracle")
    rng = np.random.default_rng(4)
    particles = np.vstack(
        [
            rng.standard_normal((6, 3000)) * np.array([1e-4, 1e-4, 8e-5, 1e-5, 1e-5, 1e-4])[:, None],
            rng.uniform(10.0, 20.0, 3000),
        ]
    )
    inputs = {
        "S": S,
        "pipes": np.array(PIPES),
        "bends": np.array(BENDS),
        "slope": rng.standard_normal(64),
        "wake": rng.standard_normal(128),
        "prof": rng.uniform(0, 1e-3, 65),
        "particles": particles,
    }
    np.savez(d / "in.npz", **inputs)
    (d / "run.py").write_text(SCRIPT)
    r = subprocess.run(
        [str(ORACLE), str(d / "run.py"), str(d / "in.npz"), str(d / "out.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=d,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return inputs, dict(np.load(d / "out.npz"))


def close(mine: np.ndarray, theirs: np.ndarray) -> None:
    err = np.abs(np.asarray(mine) - theirs).max() / max(np.abs(theirs).max(), 1e-300)
    print("max relative difference", err)
    assert err <= 1e-12, err


def test_wake_functions_match_impactx(case: tuple[dict, dict]) -> None:
    _, o = case
    close([wakeconvolution.alpha(abs(s)) for s in S], o["alpha"])
    close([wakeconvolution.unit_step(s) for s in S], o["step"])
    for k, (a, g, L) in enumerate(PIPES):
        close(wakeconvolution.w_l_rf(S, a, g, L), o[f"wl{k}"])
        close(wakeconvolution.w_t_rf(S, a, g, L), o[f"wt{k}"])
    for k, (R, b) in enumerate(BENDS):
        close(wakeconvolution.w_l_csr(S, R, b), o[f"csr{k}"])
        assert np.abs(o[f"csr{k}"]).max() > 0.0


def test_charge_tools_and_convolution_match_impactx(case: tuple[dict, dict]) -> None:
    inp, o = case
    close(wakeconvolution.convolve_fft(inp["slope"], inp["wake"], 2.5e-6).to_numpy(), o["conv"])
    sl = amrex.PODVector_real_std(inp["prof"].size - 1)
    wakeconvolution.derivative_charge(amrex.PODVector_real_std.from_numpy(inp["prof"]), sl, 2.5e-6, True)
    close(sl.to_numpy(), o["deriv"])
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_species("electron").set_kin_energy_MeV(100.0)
    p = inp["particles"]
    sim.beam.add_n_particles(*p[:6], ref.charge_qe / (ref.mass_MeV * 1e6), w=p[6])
    for unity in (False, True):
        cd = amrex.PODVector_real_std(40)
        wakeconvolution.deposit_charge(sim.beam, cd, -2e-4, 1e-5, unity)
        close(cd.to_numpy(), o[f"dep{int(unity)}"])
    with pytest.raises(ValueError, match="twice"):
        wakeconvolution.convolve_fft(inp["slope"], inp["wake"][:100], 1.0)
