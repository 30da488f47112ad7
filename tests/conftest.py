"""Shared test configuration: the gpu marker skips cleanly without CuPy and a CUDA device."""

from __future__ import annotations

import os

import pytest


def _gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


HAS_GPU = _gpu()
CPU_KINDS = ["serial", "openmp"]
KINDS = CPU_KINDS + (["cuda"] if HAS_GPU else [])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAS_GPU:
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device (cupy.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _private_kernel_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests compile into their own kernel cache unless one is given (keeps the user's cache clean)."""
    if "BEAMTRACK_KERNEL_CACHE" not in os.environ:
        os.environ["BEAMTRACK_KERNEL_CACHE"] = str(tmp_path_factory.mktemp("kernels"))
