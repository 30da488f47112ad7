"""How often ImpactX's examples pass their own analysis scripts over independent beam samples, in both codes.

    .venv/bin/python bench/bench_example_pass_rates.py /work/.mirror/BLAST-ImpactX+impactx/repo \
        --filter '^(kvdist_twiss|cutgaussian_twiss|multipole|iotalens)\\.py$' --samples 40

An analysis script compares the beam's moments with numbers from ImpactX's own fixed sample, within a
tolerance of about 1.5 / sqrt(N); a correct code with another sample misses it by chance now and then. This
runs each example ``--samples`` times in each code with independent samples: beamtrack with
``BEAMTRACK_IMPACTX_SEED`` = 2, 3, ... (the seed of AMReX's stream the drop-in draws from; 1, its default, is
ImpactX's own sample, so it is left out); ImpactX through bench/impactx_resampled.py (sample K: K x npart
particles drawn and discarded first; K = 0 is ImpactX's own sample). Equal pass rates (within their binomial
errors) mean beamtrack's misses are chance; ImpactX's rate is the rate a correct code gets. Prints a table
(pass rate, its binomial standard error) and, with ``--json``, appends one line per run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "bench" / "impactx_resampled.py"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_impactx_examples", ROOT / "bench" / "bench_impactx_examples.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path, help="fetched ImpactX repository (bare git dir or checkout)")
    ap.add_argument("--filter", required=True, help="regular expression on the test name")
    ap.add_argument("--samples", type=int, default=20, help="independent samples per example and code")
    ap.add_argument("--first", type=int, default=0, help="first sample index (to add samples to a --json file)")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--json", type=Path, help="append one JSON line per run")
    args = ap.parse_args()
    b = _bench()
    if not b.ORACLE_PY.exists():
        print("ImpactX venv .venv-impactx missing: run scripts/setup_oracle.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="impactx_rates_") as tmp:
        t = Path(tmp)
        (t / "ix").mkdir()
        (t / "bt").mkdir()
        ix_tree = b.extract(args.repo, t / "ix")
        bt_tree = b.extract(args.repo, t / "bt")
        for f in bt_tree.rglob("*.py"):
            f.write_text(b.rename(f.read_text()))
        tests = [x for x in b.python_tests(ix_tree) if re.search(args.filter, x[0])]
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        base.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg")
        print(f"{'example':28s} {'ImpactX pass':>16s} {'beamtrack pass':>16s}  (rate +- binomial s.e.)")
        for name, inp, analysis in tests:
            counts = {"impactx": 0, "beamtrack": 0}
            for k in range(args.first, args.first + args.samples):
                ix_inp = [str(DRIVER), str(k), str(ix_tree.parent / inp[0]), *inp[1:]]
                ix = b.run_one(b.ORACLE_PY, ix_tree, f"{name}.{k}", ix_inp, analysis, t / "run_ix", args.timeout, base)
                bt_env = {**base, "BEAMTRACK_KIND": "serial", "BEAMTRACK_IMPACTX_SEED": str(k + 2)}
                bt = b.run_one(b.BT_PY, bt_tree, f"{name}.{k}", inp, analysis, t / "run_bt", args.timeout, bt_env)
                for code, r in (("impactx", ix), ("beamtrack", bt)):
                    counts[code] += r[0] == "pass"
                    if args.json:
                        with args.json.open("a") as f:
                            f.write(
                                json.dumps({"name": name, "code": code, "sample": k, "status": r[0], "error": r[2]})
                                + "\n"
                            )
            cells = []
            for code in ("impactx", "beamtrack"):
                p = counts[code] / args.samples
                cells.append(f"{counts[code]}/{args.samples} ({p:.2f}+-{math.sqrt(p * (1 - p) / args.samples):.2f})")
            print(f"{name:28s} {cells[0]:>16s} {cells[1]:>16s}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
