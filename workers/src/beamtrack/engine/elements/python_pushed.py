"""Elements run by the tracking loop in Python: BeamMonitor, Marker, Programmable (LinearMap, a C-kernel
element, is in linear_map.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from beamtrack.spec import elements as spec

from ..particles import ParticleContainer
from ..refpart import RefPart
from .base import Element, push_ref_straight


class BeamMonitor(Element):
    """Writes the beam to the openPMD series diags/openPMD/<name>.<backend> (ImpactX layout); with
    nonlinear_lens_invariants, the IOTA invariants H and I of each particle too (alpha, beta [m], tn, cn [m^(1/2)])."""

    model_cls = spec.BeamMonitor
    positional = ("name", "backend", "encoding")

    def extra_records(self, pc: ParticleContainer) -> dict[str, Any]:
        """Per-particle records beyond the phase space, for the alive particles: {"H", "I"} or nothing."""
        if not self.nonlinear_lens_invariants:
            return {}
        from ..diagnostics.nonlinear_lens import nonlinear_lens_invariants

        alive = pc.state[: pc.size] == 0
        x, y, _, px, py = (pc.real[i, : pc.size][alive] for i in range(5))
        H, I_ = nonlinear_lens_invariants(x, y, px, py, self.alpha, self.beta, self.tn, self.cn, pc.xp)
        return {"H": H, "I": I_}


class Marker(Element):
    """A named position; does nothing."""

    model_cls = spec.Marker
    positional = ("name",)


class Programmable(Element):
    """An element pushed by Python (ImpactX's Programmable).

    Set either ``push(sim, step, period)`` (does everything, once per slice), or
    ``beam_particles(arrays, refpart)`` and optionally ``ref_particle(refpart)`` (once per slice;
    the reference is pushed first, straight over ``slice_ds`` [m] when ``ref_particle`` is unset).
    ``arrays`` maps position_x ... momentum_t, weighting, id, state to live NumPy/CuPy views of the
    beam: writes land in place, and the views export DLPack for PyTorch or JAX.
    """

    geometric_ref = False  # changes the energy or keeps state in push_ref

    model_cls = spec.Programmable
    positional: ClassVar[tuple[str, ...]] = ("ds", "nslice")

    def __init__(self, *args: Any, **kwargs: Any):
        push = kwargs.pop("push", None)
        beam_particles = kwargs.pop("beam_particles", None)
        ref_particle = kwargs.pop("ref_particle", None)
        super().__init__(*args, **kwargs)
        self._set_code(push, beam_particles, ref_particle)

    @classmethod
    def from_model(cls, model: Any) -> Element:
        """From a spec element: no code yet (a spec cannot carry it; a local script sets it on
        the element, a service job in its hook module's ``programmable`` dict)."""
        el = super().from_model(model)
        assert isinstance(el, Programmable)
        el._set_code(None, None, None)
        return el

    def _set_code(
        self,
        push: Callable[..., Any] | None,
        beam_particles: Callable[..., Any] | None,
        ref_particle: Callable[..., Any] | None,
    ) -> None:
        self.push: Callable[..., Any] | None = push
        self.beam_particles: Callable[..., Any] | None = beam_particles
        self.ref_particle: Callable[..., Any] | None = ref_particle
        self.threadsafe = False

    @property
    def has_code(self) -> bool:
        """Whether any of push, beam_particles, ref_particle is set."""
        return self.push is not None or self.beam_particles is not None or self.ref_particle is not None

    @property
    def slice_ds(self) -> float:
        return self.ds / self.nslice

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        if self.ref_particle is not None:
            for _ in range(nslices):
                self.ref_particle(ref)
        else:
            push_ref_straight(ref, self.slice_ds * nslices)
