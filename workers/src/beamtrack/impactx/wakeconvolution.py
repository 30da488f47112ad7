"""ImpactX 26.10's ``impactx.wakeconvolution`` (wake functions and their FFT convolution): not implemented in
beamtrack; every name raises ``NotImplementedError`` naming it. CSR in bends (``sim.csr``) is implemented, in
``beamtrack.engine.wakefields``."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"ImpactX impactx.wakeconvolution.{name} (wakefields) is not implemented in beamtrack")
