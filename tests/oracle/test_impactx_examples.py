"""ImpactX's own example scripts, with only their imports renamed, run in beamtrack and pass ImpactX's
own analysis scripts (which hold ImpactX's expected beam moments and their sampling tolerances).

Each runs as ImpactX's CTest does (bench/bench_impactx_examples.py's ``run_one``): in its own run directory, with
the files examples/CMakeLists.txt copies there (MAD-X lattices, on-axis field data). Needs a fetched ImpactX
repository (its examples are not copied here): $IMPACTX_REPO, else the search tool's mirror
/work/.mirror/BLAST-ImpactX+impactx/repo; skipped with that reason when neither exists.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.physics

ROOT = Path(__file__).resolve().parents[2]
REPO = Path(os.environ.get("IMPACTX_REPO", "/work/.mirror/BLAST-ImpactX+impactx/repo"))
#: Run by default (a few seconds each, about 60 s together on a 2-core machine): MAD-X and PALS lattices, Python
#: elements (Programmable, LinearMap, lattice.select from a hook), reference tracking with RF from field data,
#: envelope tracking, incoherent synchrotron radiation and the first examples that passed.
EXAMPLES = [
    "FODO.py",
    "chicane.py",
    "solenoid.py",
    "kicker.py",
    "quadrupole_softedge.py",
    "FODO.MADX.py",
    "chicane.MADX.py",
    "solenoid.MADX.py",
    "kicker_madx.py",
    # a PALS lattice file
    "fodo-pals.py",
    "FODO.userdef.py",
    "FODO.programmable.py",
    "turn_update.py",
    "rfcavity-ref-part.py",
    "rfcavity-ref-part-hook.py",
    # envelope tracking (deterministic: no sampling)
    "FODO.envelope.py",
    "APL_ConstF_envelope_focusing.py",
    # incoherent synchrotron radiation (beamtrack's normal numbers from its fixed default seed)
    "bend-isr.py",
]
#: The other examples beamtrack passes (bench/bench_impactx_examples.py at seed 0, BENCHMARKS.md), marked slow. Those
#: whose analysis compares a sampled beam with numbers from ImpactX's own sample pass with the drop-in's fixed default
#: seed; a change of the random stream may move them (BENCHMARKS.md: pass rates over 40 samples).
SLOW_EXAMPLES = [
    "thin_dipole.py",
    "aperture.py",
    "hvkicker_madx.py",
    "FODO.Twiss.py",
    "FODO.channel.py",
    "cfchannel.py",
    "cfchannel_spacecharge_mlmg.py",
    "cfchannel_spacecharge_fft.py",
    "gaussian_twiss.py",
    "kvdist_twiss.py",
    "FODO.RF.py",
    "semigaussian.py",
    "cutgaussian_twiss.py",
    "iotalens.py",
    "kurth_periodic.py",
    "kurth_10nC_periodic.py",
    "solenoid_softedge.py",
    "FODO.chromatic.py",
    "positron_channel.py",
    "cyclotron.py",
    "cfbend.py",
    "FODO.rf.sc.envelope.py",
    "IOTA_nll.py",
    "IOTA_lattice.py",
    "absorber.py",
    "apochromat.py",
    "apochromat_pl.py",
    "alignment.py",
    "triplet.py",
    "initialize_from_array.py",
    "spectrometer.py",
    "dogleg.py",
    "coupled-optics.py",
    "aperture-periodic.py",
    "rotation-xy.py",
    "aperture-thick.py",
    "IOTA_nll_aperture.py",
    "bend-isr-ref.py",
    "zero-bend-inverse.py",
    "chicane_isr.py",
    "simple-booster.py",
    "APL_ChrPlasmaLens_tracking_zero.py",
    "APL_ConstF_tracking_zero.py",
    "APL_ConstF_envelope_zero.py",
    "APL_ChrPlasmaLens_tracking_focusing.py",
    "APL_ConstF_tracking_focusing.py",
    "APL_ChrPlasmaLens_tracking_defocusing.py",
    "APL_ConstF_tracking_defocusing.py",
    "APL_ConstF_envelope_defocusing.py",
    "expanding-fft-2d.py",
    "cfbend-spin.py",
    "exact-quad-on-reference.py",
]
#: chicane_csr.py is left out: on identical particles beamtrack and ImpactX 26.10 end with the same emittance_t
#: (4.2547e-9, tests/oracle/test_radiation_oracle.py checks CSR per particle), but beamtrack's samples (seeds 0-5:
#: 4.10-4.25e-9) sit above the analysis' 3.87e-9 + 8.1% while ImpactX's own sample gives 3.98e-9: the CSR growth
#: of this compressed 10k-particle bunch depends on the sample's shot noise in its 150 bins. multipole.py and
#: kurth4d.py miss their sampling tolerances with seed 0 (they pass with other seeds, as ImpactX's own analyses
#: miss with some of ImpactX's samples).


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_impactx_examples", ROOT / "bench" / "bench_impactx_examples.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    if not REPO.exists():
        pytest.skip(f"no fetched ImpactX repository at {REPO} (set IMPACTX_REPO)")
    bench = _bench()
    d = tmp_path_factory.mktemp("impactx_src")
    examples = bench.extract(REPO, d)
    for f in examples.rglob("*.py"):
        f.write_text(bench.rename(f.read_text()))
    return bench, examples


@pytest.mark.parametrize("name", [*EXAMPLES, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW_EXAMPLES)])
def test_example_passes_impactx_analysis(name: str, tree: tuple[object, Path], tmp_path: Path) -> None:
    bench, examples = tree
    tests = {n: (inp, ana) for n, inp, ana in bench.python_tests(examples)}  # type: ignore[attr-defined]
    inp, analysis = tests[name]
    assert analysis is not None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(BEAMTRACK_KIND="serial", MPLBACKEND="Agg")
    status, _, err = bench.run_one(Path(sys.executable), examples, name, inp, analysis, tmp_path, 120.0, env)  # type: ignore[attr-defined]
    assert status == "pass", f"{name}: {status}: {err}"


def test_solenoid_restart_example_passes_impactx_analysis(tree: tuple[object, Path], tmp_path: Path) -> None:
    """ImpactX's solenoid_restart: reads ``../solenoid.py/diags/openPMD/m1.h5`` (the solenoid.py run's output,
    as ImpactX's CMake test dependency arranges) with ``elements.Source`` and tracks it 3 more periods."""
    bench, examples = tree
    tests = {n: (inp, ana) for n, inp, ana in bench.python_tests(examples)}  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(BEAMTRACK_KIND="serial", MPLBACKEND="Agg")
    for name in ("solenoid.py", "solenoid.restart.py"):  # run dirs side by side: tmp_path/<name>
        inp, analysis = tests[name]
        status, _, err = bench.run_one(Path(sys.executable), examples, name, inp, analysis, tmp_path, 120.0, env)  # type: ignore[attr-defined]
        assert status == "pass", f"{name}: {status}: {err}"
    assert (tmp_path / "solenoid.restart.py" / "diags" / "openPMD" / "m1.h5").exists()
