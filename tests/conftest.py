"""Shared test configuration.

Kernel kinds: the element, tracking and space-charge tests take the ``kind`` fixture, one run per kind
named in ``BEAMTRACK_TEST_KINDS`` (comma-separated; default ``serial,openmp``), so a GPU machine runs
the same files with ``BEAMTRACK_TEST_KINDS=serial,openmp,cuda`` (xobjects' ``for_all_test_contexts``
is the model). ``cuda`` runs carry the ``gpu`` marker, and the gpu marker skips cleanly without CuPy
and a CUDA device. ``cpu_kind`` is the same list without cuda (tests that hand host arrays to a
kernel); ``backend_kind`` puts the space-charge NumPy twin in front of it.
"""

from __future__ import annotations

import os

import pytest

KNOWN_KINDS = ("serial", "openmp", "cuda")


def _gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def _kinds_from_env() -> list[str]:
    raw = os.environ.get("BEAMTRACK_TEST_KINDS", "serial,openmp")
    kinds = list(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KNOWN_KINDS]
    if unknown or not kinds:
        raise pytest.UsageError(f"BEAMTRACK_TEST_KINDS={raw!r}: give one or more of {', '.join(KNOWN_KINDS)}")
    return kinds


HAS_GPU = _gpu()
TEST_KINDS = _kinds_from_env()
CPU_KINDS = [k for k in TEST_KINDS if k != "cuda"]


def _param(kind: str) -> object:
    return pytest.param(kind, id=kind, marks=[pytest.mark.gpu] if kind == "cuda" else [])


@pytest.fixture(params=[_param(k) for k in TEST_KINDS])
def kind(request: pytest.FixtureRequest) -> str:
    """A kernel kind from BEAMTRACK_TEST_KINDS (cuda included when named there)."""
    return str(request.param)


@pytest.fixture(params=[_param(k) for k in CPU_KINDS])
def cpu_kind(request: pytest.FixtureRequest) -> str:
    """A CPU kernel kind from BEAMTRACK_TEST_KINDS."""
    return str(request.param)


@pytest.fixture(params=[pytest.param("numpy", id="numpy"), *[_param(k) for k in CPU_KINDS]])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """A space-charge backend on host arrays: the NumPy twin, then the CPU kinds of BEAMTRACK_TEST_KINDS."""
    return str(request.param)


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
