"""The lattice strip beneath an s axis: one box per element by type, as MAD-X / xtrack survey plots.

Quadrupoles above the axis when focusing (k > 0) and below when defocusing, bends centred,
multipoles and other thin elements as lines, RF in its own colour; drifts are the axis line. An
element is an engine element (its ``.model``), a spec model, or a dict of the spec's JSON
(``{"type": "Quad", "ds": 0.4, "k": 0.6}``), so a job's stored spec draws as a local lattice does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: box colour and height [axis units] by family of element type
FAMILIES: dict[str, tuple[str, float]] = {
    "quad": ("tab:red", 0.8),
    "bend": ("tab:blue", 0.5),
    "multipole": ("tab:green", 0.9),
    "rf": ("tab:orange", 0.6),
    "solenoid": ("tab:purple", 0.6),
    "other": ("0.5", 0.3),
}
#: family of each ImpactX element type ("" for those drawn as the axis line)
TYPE_FAMILY = {
    "Quad": "quad",
    "ChrQuad": "quad",
    "ExactQuad": "quad",
    "SoftQuadrupole": "quad",
    "ConstF": "quad",
    "Sbend": "bend",
    "ExactSbend": "bend",
    "CFbend": "bend",
    "ExactCFbend": "bend",
    "ThinDipole": "bend",
    "DipEdge": "bend",
    "Multipole": "multipole",
    "ExactMultipole": "multipole",
    "NonlinearLens": "multipole",
    "Kicker": "multipole",
    "RFCavity": "rf",
    "ShortRF": "rf",
    "Buncher": "rf",
    "Sol": "solenoid",
    "SoftSolenoid": "solenoid",
    "Drift": "",
    "ChrDrift": "",
    "ExactDrift": "",
    "Marker": "",
    "BeamMonitor": "",
    "PRot": "",
    "PlaneXYRot": "",
}


def _field(el: Any, name: str) -> Any:
    model = getattr(el, "model", el)
    if isinstance(model, dict):
        return model.get(name)
    return getattr(model, name, None)


def element_length(el: Any) -> float:
    """Length ds [m] of an element (0 for thin ones)."""
    return float(_field(el, "ds") or 0.0)


def lattice_boxes(lattice: Iterable[Any]) -> list[tuple[float, float, str, float]]:
    """(s_start [m], length [m], family, sign) per drawn element; sign -1 for a defocusing quad."""
    out = []
    s = 0.0
    for el in lattice:
        ds = element_length(el)
        fam = TYPE_FAMILY.get(str(_field(el, "type")), "other")
        if fam:
            k = float(_field(el, "k") or _field(el, "K_normal") or _field(el, "gscale") or 0.0)
            out.append((s, ds, fam, -1.0 if (fam == "quad" and k < 0) else 1.0))
        s += ds
    return out


def draw_lattice(ax: Any, lattice: Sequence[Any], s0: float = 0.0) -> None:
    """Draw ``lattice`` as boxes on the matplotlib axes ``ax`` (s from s0 [m]); its y axis is hidden."""
    from matplotlib.patches import Rectangle

    length = sum(element_length(el) for el in lattice)
    ax.axhline(0.0, color="k", lw=0.8)
    for s, ds, fam, sign in lattice_boxes(lattice):
        color, h = FAMILIES[fam]
        if ds > 0:
            y = 0.0 if fam == "quad" else -h / 2
            height = sign * h if fam == "quad" else h
            ax.add_patch(Rectangle((s0 + s, y), ds, height, facecolor=color, edgecolor="k", lw=0.4))
        else:
            ax.plot([s0 + s, s0 + s], [-h / 2, h / 2], color=color, lw=1.5)
    ax.set_ylim(-1.0, 1.0)
    ax.set_xlim(s0, s0 + max(length, 1e-12))
    ax.set_yticks([])
    ax.set_xlabel("s [m]")
