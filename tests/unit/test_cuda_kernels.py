"""The CUDA path: every built-in element's kernel (and every spin push) compiles for sm_90 with nvcc
(no device needed), and on a GPU machine the cuda kind tracks exactly like the serial kind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import Simulation, elements
from beamtrack.engine.elements.registry import all_elements, include_roots
from beamtrack.engine.kernels import variants

pytestmark = pytest.mark.unit


def assert_nvcc_compiles(src: Path, include_roots: list[Path], tmp_path: Path) -> None:
    """nvcc compiles the CUDA source ``src`` for sm_90 (an object file; no device needed)."""
    cmd = ["nvcc", "-arch=sm_90", "-c", "-x", "cu", *[f"-I{r}" for r in include_roots], str(src)]
    proc = subprocess.run([*cmd, "-o", str(tmp_path / "k.o")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.parametrize("spin", [False, True], ids=["phase_space", "spin"])
def test_all_element_kernels_compile_for_sm90(tmp_path: Path, spin: bool) -> None:
    """The widest config (misalignment and apertures compiled in); the spin kernel of every class with a spin push."""
    classes = sorted({c.kernel for c in all_elements().values() if c.kernel is not None}, key=lambda k: k.name)
    if spin:
        classes = [k for k in classes if k.spin_header is not None]
    assert len(classes) >= 3
    config = {"misalignment": True, "apertures": True, "spin": spin}
    src = tmp_path / "kernel.cu"
    src.write_text(variants.generate("cuda", classes, config))
    assert_nvcc_compiles(src, include_roots(), tmp_path)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_space_charge_kernels_compile_for_sm90(tmp_path: Path) -> None:
    """The space-charge CUDA library (spacecharge/c/sc_cuda.cu, loaded by kernels.runtime.CudaLibrary)."""
    from beamtrack.engine.kernels.build import ENGINE_INCLUDE_ROOT
    from beamtrack.engine.spacecharge.backend import CUDA_SOURCE

    assert_nvcc_compiles(CUDA_SOURCE, [ENGINE_INCLUDE_ROOT], tmp_path)


@pytest.mark.gpu
def test_cuda_matches_serial() -> None:
    out = {}
    for kind in ("serial", "cuda"):
        sim = Simulation(kind=kind, diagnostics=False, compose_linear=False)
        sim.reference.set_species("proton").set_kin_energy_MeV(250)
        rng = np.random.default_rng(7)
        sim.beam.add_n_particles(
            *(rng.normal(size=(6, 4096)) * 1e-3), qm=sim.reference.charge / sim.reference.mass, bunch_charge=1e-9
        )
        sim.lattice.extend(
            [
                elements.Drift(ds=0.3, nslice=3),
                elements.Quad(ds=0.5, k=2.0, nslice=2),
                elements.Drift(ds=0.3),
                elements.Quad(ds=0.5, k=-2.0),
            ]
        )
        sim.track_particles(periods=3)
        out[kind] = sim.beam.host(sim.beam.real)
    np.testing.assert_allclose(out["cuda"], out["serial"], rtol=1e-13, atol=1e-18)
