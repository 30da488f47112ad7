"""The UserKick plugin package (tests/plugin_pkg) end to end: installed with pip, its element registered
through ``beamtrack.elements``, its header found through the ``include`` entry point, its classes merged
into the kernel definitions, prebuilt, selected, tracked, and reported by BEAMTRACK_VERBOSE.

The package is installed into a private target directory (not the shared environment) and exercised in
a subprocess that has that directory on PYTHONPATH, so the entry points are read exactly as after a
real install. Expected numbers: UserKick adds kx, ky to px, py (bt_userkick/c/userkick.h), a Drift of
length L then adds L * px to x (ImpactX's Drift), so x = x0 + L * (px0 + kx) and px = px0 + kx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "plugin_pkg"

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from beamtrack.engine import Simulation, elements
    from beamtrack.engine.elements.registry import element_class, include_roots
    from beamtrack.engine.kernels import kernel_definitions, prebuild, select

    out = {}
    UserKick = element_class("UserKick")
    out["module"] = UserKick.__module__
    out["roots"] = [str(r) for r in include_roots()]
    defs = dict(kernel_definitions.definitions())
    out["in_default"] = "UserKick" in defs["default"]["classes"]
    default = defs["default"]
    small = [("plugin_default", {**default, "classes": ["Drift", "UserKick"]})]
    if sys.argv[1] == "prebuild":
        metas = prebuild.regenerate(["serial"], definitions=small)
        out["prebuilt_classes"] = [c["name"] for c in metas[0]["classes"]]

    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250)
    sim.beam.add_n_particles([1e-3], [2e-3], [0.0], [1e-4], [-1e-4], [0.0], qm=1.0, bunch_charge=0.0)
    sim.lattice.extend([UserKick(kx=3e-4, ky=-2e-4), elements.Drift(ds=2.0)])
    sim.track_particles()
    out["coords"] = sim.beam.real[:6, 0].tolist()
    out["origin"] = sim.kernel().origin
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def run(installed: Path, tmp_path: Path, mode: str) -> tuple[dict, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")]),
        "BEAMTRACK_PREBUILT_DIR": str(tmp_path / "store"),
        "BEAMTRACK_KERNEL_CACHE": str(tmp_path / "cache"),
        "BEAMTRACK_VERBOSE": "1",
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def check_coords(coords: list[float]) -> None:
    x, y, t, px, py, pt = coords
    assert px == pytest.approx(1e-4 + 3e-4, abs=1e-18) and py == pytest.approx(-1e-4 - 2e-4, abs=1e-18)
    assert x == pytest.approx(1e-3 + 2.0 * 4e-4, rel=1e-14) and y == pytest.approx(2e-3 - 2.0 * 3e-4, rel=1e-14)
    assert pt == 0.0 and t == 0.0


def test_the_package_ships_its_headers(installed: Path) -> None:
    assert (installed / "bt_userkick/c/userkick.h").is_file()
    assert (installed / "bt_userkick/c/kick_math.h").is_file()


def test_plugin_prebuilt_selected_and_tracked(installed: Path, tmp_path: Path) -> None:
    out, err = run(installed, tmp_path, "prebuild")
    assert out["module"] == "bt_userkick"
    assert str(installed) in out["roots"]  # the parent of the plugin package is an include root
    assert out["in_default"]  # its prebuilt_kernel_definitions joined the engine's
    assert out["prebuilt_classes"] == ["LinearMap", "Drift", "UserKick"]
    assert out["origin"].startswith("prebuilt:plugin_default:")
    assert "kernel request: kind serial" in err and "UserKick" in err
    assert "'plugin_default' (serial): accepted" in err and "compile started" not in err
    check_coords(out["coords"])


def test_plugin_line_kernel_compiles_without_a_store(installed: Path, tmp_path: Path) -> None:
    out, err = run(installed, tmp_path, "jit")
    assert "no prebuilt kernel fits" in err and "compile started" in err and "UserKick" in err
    assert out["origin"].startswith("compiled:")
    check_coords(out["coords"])
