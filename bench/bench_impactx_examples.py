"""Run ImpactX's own Python examples in ImpactX 26.10 and, with the imports renamed, in beamtrack.impactx.

    .venv/bin/python bench/bench_impactx_examples.py /work/.mirror/BLAST-ImpactX+impactx/repo [--filter FODO] [--limit N]

The argument is a fetched ImpactX repository (a bare git dir, or a checkout); its ``examples/`` tree is
extracted to a temporary directory with ``git archive`` (nothing of it enters this repository). Each
Python test that ImpactX's ``examples/CMakeLists.txt`` defines (``add_impactx_test(name script is_mpi
analysis plot)``; those CTest runs under MPI on one rank, unless a non-MPI test runs the same script and
analysis) runs as ImpactX's CTest does: in a fresh run directory, the script, then its
analysis script, with the files CMakeLists.txt copies into the run directory. ImpactX runs in .venv-impactx (scripts/setup_oracle.sh); beamtrack in .venv on a copy of
the tree whose ``import impactx`` / ``from impactx`` / ``import amrex.space3d as amr`` lines are renamed to
``beamtrack.impactx`` (``BEAMTRACK_KIND=serial``: one thread, as impactx-noacc). Prints, per example:
run and analysis pass/fail and wall time of both codes, and how far apart the two codes' final beam moments are
(the last row of ``diags/reduced_beam_characteristics_final.0``: max over sigma_*, emittance_* of the relative
difference; an emittance relative to sigma_q sigma_pq), then a summary.

``--json FILE`` appends one JSON line per example and code ({"name", "code", "seed", "status", "time",
"error"}); ``--only impactx|beamtrack`` runs one code; ``--seed S`` sets ``BEAMTRACK_IMPACTX_SEED``, the seed of
the AMReX random stream the drop-in draws its beams from (default 1: AMReX's own on one rank, so beamtrack draws
ImpactX's particles; other seeds give other samples, for pass rates over samples). ImpactX's own sample is fixed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORACLE_PY = ROOT / ".venv-impactx" / "bin" / "python"
BT_PY = Path(sys.executable)

RENAMES = [
    (re.compile(r"^(\s*)import amrex\.space3d as (\w+)", re.M), r"\1import beamtrack.impactx.amrex as \2"),
    (re.compile(r"^(\s*)from impactx(\.[\w.]+)? import", re.M), r"\1from beamtrack.impactx\2 import"),
    (re.compile(r"^(\s*)import impactx\s*$", re.M), r"\1import beamtrack.impactx as impactx"),
]


def rename(text: str) -> str:
    for pat, rep in RENAMES:
        text = pat.sub(rep, text)
    return text


def extract(repo: Path, dest: Path) -> Path:
    """ImpactX's examples/ tree from a bare git dir or a checkout, into dest/examples."""
    git_dir = repo if (repo / "HEAD").exists() and not (repo / ".git").exists() else repo / ".git"
    tar = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "HEAD", "examples"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "x", "-C", str(dest)], input=tar, check=True)
    return dest / "examples"


def python_tests(examples: Path, mpi: bool = True) -> list[tuple[str, list[str], str | None]]:
    """(name, [script, args...], analysis) of each Python test in examples/CMakeLists.txt.

    A test CTest runs under ``mpirun -np 2`` (``is_mpi`` ON) runs here on one rank, as a user without MPI
    runs the script; one whose script and analysis a non-MPI test already runs is left out (the same run).
    ``mpi=False``: the non-MPI tests only."""
    text = (examples / "CMakeLists.txt").read_text()
    serial: list[tuple[str, list[str], str | None]] = []
    parallel: list[tuple[str, list[str], str | None]] = []
    for m in re.finditer(r"add_impactx_test\(\s*([^\s)]+)\s+(.*?)\)", text, re.S):
        lines = [ln.split("#")[0].strip() for ln in m.group(2).splitlines()]
        lines = [ln for ln in lines if ln]
        if len(lines) < 3 or not lines[0].split()[0].strip('"').endswith(".py"):
            continue
        inp = lines[0].strip('"').split()
        analysis = None if lines[2] == "OFF" else lines[2].strip('"')
        (serial if lines[1] == "OFF" else parallel).append((m.group(1), inp, analysis))
    seen = {(tuple(inp), analysis) for _, inp, analysis in serial}
    extra = [t for t in parallel if (tuple(t[1]), t[2]) not in seen] if mpi else []
    return serial + extra


def copied_files(examples: Path) -> dict[str, list[Path]]:
    """{test name: [files]} that examples/CMakeLists.txt copies into a test's run directory
    (``file(COPY ${ImpactX_SOURCE_DIR}/examples/... DESTINATION ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/name)``:
    MAD-X lattices, on-axis field data, helper modules)."""
    text = (examples / "CMakeLists.txt").read_text()
    out: dict[str, list[Path]] = {}
    pat = r"file\(\s*COPY\s+\$\{ImpactX_SOURCE_DIR\}/(\S+)\s+DESTINATION\s+\$\{CMAKE_RUNTIME_OUTPUT_DIRECTORY\}/([^\s)]+)\s*\)"
    for m in re.finditer(pat, text):
        out.setdefault(m.group(2), []).append(examples.parent / m.group(1))
    return out


def run_one(
    py: Path,
    tree: Path,
    name: str,
    inp: list[str],
    analysis: str | None,
    workdir: Path,
    timeout: float,
    env: dict[str, str],
) -> tuple[str, float, str]:
    run_dir = workdir / name
    run_dir.mkdir(parents=True)
    src = tree.parent
    for f in copied_files(tree).get(name, []):
        shutil.copy(f, run_dir)
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [str(py), str(src / inp[0]), *inp[1:]],
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0, ""
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        return (
            "run-fail",
            dt,
            (r.stderr or r.stdout).strip().splitlines()[-1:][0] if (r.stderr or r.stdout).strip() else "",
        )
    if analysis is None:
        return "pass", dt, ""
    try:
        a = subprocess.run(
            [str(py), str(src / analysis)], cwd=run_dir, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return "analysis-timeout", dt, ""
    if a.returncode != 0:
        msg = (a.stderr or a.stdout).strip().splitlines()
        return "analysis-fail", dt, msg[-1] if msg else ""
    return "pass", dt, ""


#: columns of the final reduced diagnostics compared between the codes (ImpactX 26.10's names)
MOMENTS = (
    "sigma_x",
    "sigma_y",
    "sigma_t",
    "sigma_px",
    "sigma_py",
    "sigma_pt",
    "emittance_x",
    "emittance_y",
    "emittance_t",
)


def final_moments(run_dir: Path) -> dict[str, float] | None:
    """The last row of ``diags/reduced_beam_characteristics_final.0`` (else the last of
    ``reduced_beam_characteristics.0``): the run's final beam moments, or None without the file."""
    for fname in ("reduced_beam_characteristics_final.0", "reduced_beam_characteristics.0"):
        f = run_dir / "diags" / fname
        if f.exists():
            lines = [ln.split() for ln in f.read_text().splitlines() if ln.strip()]
            if len(lines) >= 2:
                return {k: float(v) for k, v in zip(lines[0], lines[-1], strict=False) if k in MOMENTS}
    return None


def moment_difference(ix_dir: Path, bt_dir: Path) -> tuple[float, str] | None:
    """max over MOMENTS of |beamtrack - ImpactX| of the final beam, relative to ImpactX's value for a sigma and to
    sigma_q sigma_pq for emittance_q (its natural scale: a beam with no emittance in a plane has an emittance of
    round-off size in both codes, whose ratio means nothing); and that column."""
    a, b = final_moments(ix_dir), final_moments(bt_dir)
    if not a or not b:
        return None
    diffs = {}
    for k in a.keys() & b.keys():
        q = k.rsplit("_", 1)[1]
        scale = abs(a[k]) if k.startswith("sigma") else a.get(f"sigma_{q}", 0.0) * a.get(f"sigma_p{q}", 0.0)
        if scale > 0.0:
            diffs[k] = abs(b[k] - a[k]) / scale
    if not diffs:
        return None
    worst = max(diffs, key=lambda k: diffs[k])
    return diffs[worst], worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path, help="fetched ImpactX repository (bare git dir or checkout)")
    ap.add_argument("--filter", default="", help="regular expression on the test name")
    ap.add_argument("--limit", type=int, default=0, help="run at most this many tests")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run and per analysis")
    ap.add_argument("--only", choices=("impactx", "beamtrack"), help="run one code only")
    ap.add_argument(
        "--seed",
        type=int,
        default=1,
        help="AMReX's seed for beamtrack (BEAMTRACK_IMPACTX_SEED; 1: ImpactX's own sample)",
    )
    ap.add_argument("--json", type=Path, help="append one JSON line per example and code to this file")
    ap.add_argument("--no-mpi", action="store_true", help="only the tests CTest runs without MPI")
    ap.add_argument("--mpi-only", action="store_true", help="only the MPI tests (run on one rank)")
    args = ap.parse_args()
    if args.only != "beamtrack" and not ORACLE_PY.exists():
        print("ImpactX venv .venv-impactx missing: run scripts/setup_oracle.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="impactx_examples_") as tmp:
        t = Path(tmp)
        (t / "ix").mkdir()
        (t / "bt").mkdir()
        ix_tree = extract(args.repo, t / "ix")
        bt_tree = extract(args.repo, t / "bt")
        for f in bt_tree.rglob("*.py"):
            f.write_text(rename(f.read_text()))
        tests = python_tests(ix_tree, mpi=not args.no_mpi)
        if args.mpi_only:
            tests = tests[len(python_tests(ix_tree, mpi=False)) :]
        tests = [x for x in tests if re.search(args.filter, x[0])]
        if args.limit:
            tests = tests[: args.limit]
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        base.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg")
        bt_env = {**base, "BEAMTRACK_KIND": "serial", "BEAMTRACK_IMPACTX_SEED": str(args.seed)}
        skipped = ("skipped", float("nan"), "")
        rows = []
        print(
            f"{'example':44s} {'ImpactX':14s} {'t_ix[s]':>8s} {'beamtrack':14s} {'t_bt[s]':>8s} "
            f"{'final moments, max rel. diff':22s} beamtrack error"
        )
        for name, inp, analysis in tests:
            ix = (
                skipped
                if args.only == "beamtrack"
                else run_one(ORACLE_PY, ix_tree, name, inp, analysis, t / "run_ix", args.timeout, base)
            )
            bt = (
                skipped
                if args.only == "impactx"
                else run_one(BT_PY, bt_tree, name, inp, analysis, t / "run_bt", args.timeout, bt_env)
            )
            diff = moment_difference(t / "run_ix" / name, t / "run_bt" / name) if args.only is None else None
            rows.append((name, ix, bt, diff))
            if args.json:
                with args.json.open("a") as f:
                    for code, r, seed in (("impactx", ix, None), ("beamtrack", bt, args.seed)):
                        if r is not skipped:
                            f.write(
                                json.dumps(
                                    {
                                        "name": name,
                                        "code": code,
                                        "seed": seed,
                                        "status": r[0],
                                        "time": round(r[1], 3),
                                        "error": r[2],
                                        "final_moments_rel_diff": None if diff is None else diff[0],
                                        "worst_moment": None if diff is None else diff[1],
                                    }
                                )
                                + "\n"
                            )
            d_txt = "" if diff is None else f"{diff[0]:9.1e} {diff[1]:12s}"
            print(f"{name:44s} {ix[0]:14s} {ix[1]:8.2f} {bt[0]:14s} {bt[1]:8.2f} {d_txt:22s} {bt[2][:90]}", flush=True)
        n = len(rows)
        n_ix = sum(r[1][0] == "pass" for r in rows)
        n_bt = sum(r[2][0] == "pass" for r in rows)
        both = [r for r in rows if r[1][0] == "pass" and r[2][0] == "pass"]
        compared = sorted((r[3][0], r[0]) for r in both if r[3] is not None)
        t_ix = sum(r[1][1] for r in both)
        t_bt = sum(r[2][1] for r in both)
        print(f"\nsummary: {n} Python examples; ImpactX passes {n_ix}, beamtrack passes {n_bt}, both {len(both)}")
        if compared:
            within = {tol: sum(d <= tol for d, _ in compared) for tol in (1e-12, 1e-9, 1e-6, 1e-3)}
            print(
                f"final beam moments ({', '.join(MOMENTS)}) of the {len(compared)} examples both pass that write them: "
                + ", ".join(f"{n} within {tol:g}" for tol, n in within.items())
                + f"; largest {compared[-1][0]:.2e} ({compared[-1][1]})"
            )
        if both:
            print(
                f"time over the examples both pass: ImpactX {t_ix:.1f} s, beamtrack {t_bt:.1f} s "
                f"(ratio ImpactX/beamtrack {t_ix / t_bt:.2f}; includes interpreter start-up and output)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
