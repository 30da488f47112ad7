"""Envelope tracking (beamtrack.impactx's init_envelope / track_envelope) against the real ImpactX 26.10.

Where the expected numbers come from: ImpactX 26.10 itself (impactx-noacc, CPU, double precision), run by
tests/oracle/impactx_envelope_runner.py in the oracle venv on the same covariance matrix (set through
``sim.envelope.envelope``), the same element keyword arguments (the element cases of the particle oracle,
test_impactx_oracle.py: every element type, both species) and the same space-charge settings.

Tolerance: per matrix entry |beamtrack - ImpactX| <= 1e-10 sqrt(cm_ii cm_jj) of ImpactX's matrix (entries
compared on the scale of their own correlation; both codes are double precision and evaluate the same maps,
beamtrack's from its kernels' fourth-order central differences); the reference particle to 1e-10; the
reduced diagnostics files of the slice-step case column by column to 1e-10 (relative) with the same
header and NaN columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from beamtrack.impactx import ImpactX, elements
from oracle_run import REF_KEYS, run_oracle_cases
from test_impactx_oracle import ELEMENTS, LINES, SPECIES

pytestmark = pytest.mark.physics

RUNNER = Path(__file__).with_name("impactx_envelope_runner.py")
RTOL = 1e-10


def _coupled_cm() -> np.ndarray:
    """A fully coupled positive-definite covariance matrix (seeded): rms ~1e-3 in every coordinate, all
    21 correlations non-zero, so every entry of each element's map is exercised."""
    a = np.random.default_rng(20261011).normal(size=(6, 6))
    c = a @ a.T + 2.0 * np.eye(6)
    d = np.diag(1.0 / np.sqrt(np.diag(c)))
    return 1e-6 * d @ c @ d


def _block_cm() -> np.ndarray:
    """Uncoupled planes (the 3D space-charge model's assumption): sigma 1 mm, 0.5 mm, 2 mm; x-px and y-py correlated."""
    cm = np.zeros((6, 6))
    for i, (sq, sp, r) in enumerate(((1e-3, 1e-3, -0.4), (5e-4, 2e-3, 0.6), (2e-3, 1e-4, 0.1))):
        cm[2 * i, 2 * i], cm[2 * i + 1, 2 * i + 1] = sq * sq, sp * sp
        cm[2 * i, 2 * i + 1] = cm[2 * i + 1, 2 * i] = r * sq * sp
    return cm


FODO = [
    ("Drift", {"ds": 0.25, "nslice": 4}),
    ("Quad", {"ds": 1.0, "k": 1.0, "nslice": 8}),
    ("Drift", {"ds": 0.5, "nslice": 4}),
    ("Quad", {"ds": 1.0, "k": -1.0, "nslice": 8}),
    ("Drift", {"ds": 0.25, "nslice": 4}),
]
#: (space charge, intensity [C for 3D, A for 2D], periods); p10 = 10 MeV protons: strong space charge
SC_CASES = {
    "sc3D": ("3D", 1e-10, 3),
    "sc2D": ("2D", 0.5, 3),
    "sc3D_nosplit": ("3D", 1e-10, 2),
    "sc2D_nosplit": ("2D", 0.5, 2),
}


#: ImpactX 26.10's ExactCFbend envelope map is 0/0 = NaN in the y plane when the gradient k_normal[1] is 0
#: (sin(omega_y L) / omega_y at omega_y = 0; ExactCFbend_o6_T); beamtrack takes the limit, a drift in y. The
#: expected y entries of that case come from ImpactX with a gradient of 1e-12 T/m, which moves them by ~1e-12
#: of their scale (k L^2 / (B rho) ~ 4e-13 at 10 MeV).
ENVELOPE_ONLY = {
    "ExactCFbend_o6_T_tinyk": [
        (
            "ExactCFbend",
            {**ELEMENTS["ExactCFbend_o6_T"][0][1], "k_normal": [0.3, 1e-12, 20.0]},
        )
    ],
}
#: cases whose ImpactX matrix has NaN entries, and the case whose ImpactX matrix stands in for them
NAN_IN_IMPACTX = {"ExactCFbend_o6_T": "ExactCFbend_o6_T_tinyk"}


def _cases() -> list[dict]:
    out = []
    for sp, (mass, charge, ekin) in SPECIES.items():
        base = {
            "mass_MeV": mass,
            "charge_qe": charge,
            "kin_energy_MeV": ekin,
            "space_charge": False,
            "intensity": 0.0,
            "cm": _coupled_cm().tolist(),
            "periods": 1,
        }
        for name, els in {**ELEMENTS, **ENVELOPE_ONLY}.items():
            out.append({**base, "name": f"{name}-{sp}", "elements": [{"type": t, "kwargs": kw} for t, kw in els]})
        for name, (els, periods) in LINES.items():
            out.append(
                {
                    **base,
                    "name": f"{name}-{sp}",
                    "periods": periods,
                    "elements": [{"type": t, "kwargs": kw} for t, kw in els],
                }
            )
        for name, (mode, intensity, periods) in SC_CASES.items():
            out.append(
                {
                    **base,
                    "name": f"{name}-{sp}",
                    "space_charge": mode,
                    "intensity": intensity,
                    "periods": periods,
                    "cm": _block_cm().tolist(),
                    "elements": [{"type": t, "kwargs": kw} for t, kw in FODO],
                    "slice_step_diagnostics": name == "sc3D",
                    "strang_split": not name.endswith("nosplit"),
                }
            )
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_oracle_cases(RUNNER, CASES, tmp_path_factory.mktemp("impactx_envelope_oracle"))


def run_beamtrack(case: dict, workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    sim = ImpactX(kind="serial", output_dir=workdir)
    sim.space_charge = case["space_charge"]
    sim.strang_split = case.get("strang_split", True)
    sim.slice_step_diagnostics = bool(case.get("slice_step_diagnostics"))
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_mass_MeV(case["mass_MeV"]).set_charge_qe(case["charge_qe"]).set_kin_energy_MeV(case["kin_energy_MeV"])
    from beamtrack.impactx import distribution

    wb = distribution.Waterbag(lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-4, lambdaPy=1e-4, lambdaPt=1e-3)
    sim.init_envelope(ref, wb, case["intensity"])
    sim.envelope.envelope = np.array(case["cm"])
    sim.lattice.extend(getattr(elements, e["type"])(**e["kwargs"]) for e in case["elements"])
    sim.periods = case["periods"]
    sim.track_envelope()
    sim.finalize()
    cm = sim.envelope.envelope.to_numpy()
    final = pd.read_csv(workdir / "diags" / "ref_particle_final.0", sep=r"\s+").iloc[-1]
    return cm, np.array([final[k] for k in REF_KEYS])


def envelope_deviation(got: np.ndarray, want: np.ndarray) -> float:
    """max_ij |got - want| / sqrt(want_ii want_jj)."""
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    return float((np.abs(got - want) / scale).max())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_envelope_matches_impactx(case: dict, oracle: Path, tmp_path: Path) -> None:
    want = dict(np.load(oracle / f"{case['name']}.npz"))
    cm, ref = run_beamtrack(case, tmp_path)
    diags_of = case["name"]
    stand_in = NAN_IN_IMPACTX.get(case["name"].rsplit("-", 1)[0])
    if stand_in is not None:
        diags_of = f"{stand_in}-{case['name'].rsplit('-', 1)[1]}"
        nan = np.isnan(want["cm"])
        assert nan.any() and np.isfinite(cm).all(), "ImpactX's NaN entries (see ENVELOPE_ONLY) are finite in beamtrack"
        limit = np.load(oracle / f"{diags_of}.npz")["cm"]
        want["cm"] = np.where(nan, limit, want["cm"])
    dev = envelope_deviation(cm, want["cm"])
    assert dev <= RTOL, f"{case['name']}: envelope deviation {dev:.3e}"
    ref_dev = float((np.abs(ref - want["ref"]) / np.maximum(np.abs(want["ref"]), 1.0)).max())
    assert ref_dev <= RTOL, f"{case['name']}: reference particle deviation {ref_dev:.3e}"
    for name in ("reduced_beam_characteristics.0", "reduced_beam_characteristics_final.0", "ref_particle.0"):
        ours = pd.read_csv(tmp_path / "diags" / name, sep=r"\s+")
        theirs = pd.read_csv(oracle / diags_of / "diags" / name, sep=r"\s+")
        assert list(ours.columns) == list(theirs.columns), name
        assert ours.shape == theirs.shape, name
        np.testing.assert_array_equal(ours.isna().to_numpy(), theirs.isna().to_numpy(), err_msg=name)
        exact = [c for c in ("step", "period") if c in theirs]
        np.testing.assert_array_equal(ours[exact].to_numpy(), theirs[exact].to_numpy(), err_msg=name)
        # columns read straight off the matrix (or the reference): as the matrix, 1e-10 of their scale. The
        # Twiss and emittance columns are differences of products (sqrt(<q2><p2> - <qp>2)) that amplify the
        # matrix's 1e-10 by up to 1/(1 - corr^2); their formulas are checked on ImpactX's own matrix below.
        cols = [
            c for c in theirs.columns if c.startswith("sigma_") or c in REF_KEYS or c in ("beta", "gamma", "beta_gamma")
        ]
        a, b = ours[cols].to_numpy(dtype=float), theirs[cols].to_numpy(dtype=float)
        scale = np.maximum(np.abs(b).max(axis=0), 1e-300)
        dev_cols = (np.abs(a - b) / scale).max(axis=0)
        assert (dev_cols <= RTOL).all(), f"{name}: {dict(zip(cols, dev_cols, strict=True))}"


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["name"].startswith(("sc3D", "FODO_bends", "Sbend-"))], ids=lambda c: c["name"]
)
def test_envelope_moments_formula(case: dict, oracle: Path) -> None:
    """ImpactX's last diagnostics row of a run == beamtrack's envelope_moments of ImpactX's own final matrix and
    reference (the formula of reduced_beam_characteristics(cm, ref), every column, period included)."""
    from beamtrack.engine.envelope import envelope_moments
    from beamtrack.engine.refpart import RefPart

    want = dict(np.load(oracle / f"{case['name']}.npz"))
    final = pd.read_csv(oracle / case["name"] / "diags" / "reduced_beam_characteristics_final.0", sep=r"\s+").iloc[-1]
    ref = RefPart(
        **dict(zip(REF_KEYS, want["ref"], strict=True)), mass_MeV=case["mass_MeV"], charge_qe=case["charge_qe"]
    )
    got = {"period": case["periods"] - 1, **envelope_moments(want["cm"], ref)}
    for col, v in final.items():
        if col == "step":
            continue
        if np.isnan(v):
            assert np.isnan(got[col]), col
        else:
            # emittances and Twiss come from <q2><p2> - <qp>2, which cancels up to 1e5 in these (strongly
            # correlated t-pt) matrices: round-off 1e-16 x 1e5 in either code
            tol = 1e-9 if col.startswith(("emittance", "alpha", "beta_")) else 1e-12
            assert abs(got[col] - v) <= tol * max(abs(v), 1e-300), f"{col}: {got[col]!r} != {v!r}"
