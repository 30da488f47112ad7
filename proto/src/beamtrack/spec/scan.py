"""Parameter scans: a base JobSpec plus parameters addressed by path into it.

A parameter path names one field of the spec, as the spec's error messages do:
``beam.bunch_charge_C``, ``reference.kin_energy_MeV``, ``lattice.elements[3].k`` (by position) or
``lattice.elements[name=q1].k`` (every element named ``q1``: a magnet family). Modes:

- ``grid``: every combination of the parameters' value lists (first parameter slowest);
- ``zip``: the i-th values of every list together (the lists have one length);
- ``list``: explicit variants, each a ``{path: value}`` dict;
- ``random``: ``samples`` variants drawn uniformly (or log-uniformly) in ``[low, high]``, seeded;
- ``lhs``: a seeded Latin hypercube over the ranges (scipy.stats.qmc).

``expand(scan)`` makes each variant's JobSpec and validates it; a bad value is refused as a
``SpecError`` whose locations read ``variants[7].lattice.elements[3].k``.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, JsonValue, Tag, model_validator

from ._base import SpecModel
from .errors import SpecError, parse_model
from .job import JobSpec

#: The most variants one scan may expand to, unless the caller passes its own cap.
MAX_VARIANTS = 10_000
#: The most per-variant errors one refusal lists (the count of the rest follows).
MAX_ERRORS = 20

_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[name=([A-Za-z0-9_.+\-]+)\]")

_TAG = re.compile(r"\.(Range|Values)(?=\.|\[|$)")

#: One step of a parsed path: a field name, a list index, or a ``name=`` element selector.
Step = tuple[Literal["key", "index", "name"], str | int]


class Range(SpecModel):
    """A sampled parameter's interval [low, high]; ``log`` samples log-uniformly (low > 0);
    ``integer`` rounds each sample to the nearest integer (e.g. beam.npart)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.high:
            raise ValueError("low must be <= high")
        if self.log and self.low <= 0:
            raise ValueError("log sampling needs low > 0")
        return self

    def scale(self, u: float) -> float | int:
        """The value at fraction ``u`` in [0, 1) of the range."""
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return round(v) if self.integer else v


def _values_or_range(v: Any) -> str:
    return "Range" if isinstance(v, dict) or isinstance(v, Range) else "Values"


#: A parameter's values: a list (grid, zip) or a Range (random, lhs), told apart by the JSON shape.
ParameterValues = Annotated[
    Annotated[Annotated[list[JsonValue], Field(min_length=1)], Tag("Values")] | Annotated[Range, Tag("Range")],
    Discriminator(_values_or_range),
]


class ScanSpec(SpecModel):
    """A scan: ``base`` with ``parameters`` varied by ``mode`` (see the module docstring).

    ``parameters`` maps a path to its values (grid, zip) or to a Range (random, lhs); ``variants``
    lists the ``{path: value}`` dicts of mode list. ``samples`` and ``seed`` drive random and lhs.
    ``columns`` picks the final-diagnostics columns of the results table (None: all of them).
    """

    name: Annotated[str, Field(min_length=1, max_length=180, pattern=r"^[A-Za-z0-9_.\-]+$")] | None = None
    base: JobSpec
    mode: Literal["grid", "zip", "list", "random", "lhs"] = "grid"
    parameters: dict[str, ParameterValues] = {}
    variants: list[dict[str, JsonValue]] | None = None
    samples: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    columns: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = None
    #: Serve variants whose identical spec already succeeded from the result cache.
    use_cache: bool = True

    def problems(self) -> list[dict[str, str]]:
        """What makes the scan inconsistent (mode against parameters, variants, samples)."""
        problems: list[dict[str, str]] = []
        lists = self.mode in ("grid", "zip")
        if self.mode == "list":
            if not self.variants:
                problems.append({"loc": "variants", "msg": "mode list needs a non-empty variants list"})
            if self.parameters:
                problems.append({"loc": "parameters", "msg": "mode list takes variants, not parameters"})
        else:
            if self.variants is not None:
                problems.append({"loc": "variants", "msg": f"only mode list takes variants, not mode {self.mode}"})
            if not self.parameters:
                problems.append({"loc": "parameters", "msg": f"mode {self.mode} needs at least one parameter"})
        for path, vals in self.parameters.items():
            if lists and isinstance(vals, Range):
                problems.append(
                    {"loc": f"parameters.{path}", "msg": f"mode {self.mode} takes a list of values, not a range"}
                )
            if not lists and not isinstance(vals, Range):
                problems.append(
                    {"loc": f"parameters.{path}", "msg": f"mode {self.mode} takes a range {{low, high}}, not a list"}
                )
        if self.mode == "zip":
            lengths = {path: len(v) for path, v in self.parameters.items() if isinstance(v, list)}
            if len(set(lengths.values())) > 1:
                problems.append(
                    {
                        "loc": "parameters",
                        "msg": "mode zip needs value lists of one length, not "
                        + ", ".join(f"{p}: {n}" for p, n in lengths.items()),
                    }
                )
        if self.mode in ("random", "lhs") and self.samples is None:
            problems.append({"loc": "samples", "msg": f"mode {self.mode} needs samples"})
        if self.mode not in ("random", "lhs") and self.samples is not None:
            problems.append({"loc": "samples", "msg": f"mode {self.mode} takes no samples"})
        return problems

    def paths(self) -> list[str]:
        """The varied paths, in table-column order."""
        if self.mode == "list":
            seen: dict[str, None] = {}
            for v in self.variants or []:
                seen.update(dict.fromkeys(v))
            return list(seen)
        return list(self.parameters)

    def count(self) -> int:
        """How many variants the scan expands to (without expanding it)."""
        if self.mode == "list":
            return len(self.variants or [])
        if self.mode in ("random", "lhs"):
            return int(self.samples or 0)
        sizes = [len(v) for v in self.parameters.values() if isinstance(v, list)]
        return math.prod(sizes) if self.mode == "grid" else (sizes[0] if sizes else 0)

    def variant_values(self) -> list[dict[str, Any]]:
        """The ``{path: value}`` of every variant, in variant order."""
        if self.mode == "list":
            return [dict(v) for v in self.variants or []]
        paths = list(self.parameters)
        if self.mode == "grid":
            lists = [self.parameters[p] for p in paths]
            return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*lists)]
        if self.mode == "zip":
            lists = [self.parameters[p] for p in paths]
            return [dict(zip(paths, combo, strict=True)) for combo in zip(*lists, strict=True)]
        ranges = [self.parameters[p] for p in paths]
        assert all(isinstance(r, Range) for r in ranges)
        n = int(self.samples or 0)
        if self.mode == "random":
            rng = random.Random(self.seed)
            units = [[rng.random() for _ in paths] for _ in range(n)]
        else:
            from scipy.stats import qmc  # only lhs needs scipy

            units = qmc.LatinHypercube(d=len(paths), seed=self.seed).random(n).tolist()
        return [
            {p: r.scale(u) for p, r, u in zip(paths, ranges, row, strict=True)}  # type: ignore[union-attr]
            for row in units
        ]


def parse_path(path: str) -> list[Step]:
    """``lattice.elements[name=q1].k`` -> [key lattice, key elements, name q1, key k];
    ValueError saying what is wrong with a malformed path."""
    m = _HEAD.match(path)
    if not m:
        raise ValueError("a path starts with a field name, e.g. beam.bunch_charge_C")
    steps: list[Step] = [("key", m.group(0))]
    pos = m.end()
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise ValueError(f"cannot read the path from {path[pos:]!r}: use .field, [index] or [name=element]")
        key, index, name = m.groups()
        steps.append(("key", key) if key else ("index", int(index)) if index else ("name", name))
        pos = m.end()
    if steps[-1][0] != "key":
        raise ValueError("a path ends with a field name, e.g. lattice.elements[name=q1].k")
    return steps


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set the field ``path`` of the spec dict ``doc`` to ``value`` (every element a ``name=``
    selector matches); ValueError naming what the path does not find."""
    nodes: list[Any] = [doc]
    where = ""
    steps = parse_path(path)
    for n, (kind, arg) in enumerate(steps):
        last = n == len(steps) - 1
        nxt: list[Any] = []
        for node in nodes:
            if kind == "key":
                if not isinstance(node, dict) or arg not in node:
                    raise ValueError(f"no field {arg!r} at {where or '(root)'}")
                if last:
                    node[arg] = value
                else:
                    nxt.append(node[arg])
            elif kind == "index":
                assert isinstance(arg, int)
                if not isinstance(node, list) or not 0 <= arg < len(node):
                    size = len(node) if isinstance(node, list) else 0
                    raise ValueError(f"{where} has no item [{arg}] (it has {size})")
                nxt.append(node[arg])
            else:
                if not isinstance(node, list):
                    raise ValueError(f"{where} is not a list of elements")
                hits = [e for e in node if isinstance(e, dict) and e.get("name") == arg]
                if not hits:
                    raise ValueError(f"{where} has no element named {arg!r}")
                nxt.extend(hits)
        where += (
            (f".{arg}" if where else str(arg))
            if kind == "key"
            else (f"[{arg}]" if kind == "index" else f"[name={arg}]")
        )
        nodes = nxt


def parse_scan(data: Any) -> ScanSpec:
    """Validate a ScanSpec from a dict or JSON text; SpecError naming each bad field."""
    try:
        scan: ScanSpec = parse_model(ScanSpec, data)
    except SpecError as exc:
        # the parameter union's tags are no part of the JSON path
        raise SpecError([{"loc": _TAG.sub("", e["loc"]), "msg": e["msg"]} for e in exc.errors]) from None
    problems = scan.problems()
    if problems:
        raise SpecError(problems)
    return scan


def expand(scan: ScanSpec, *, max_variants: int = MAX_VARIANTS) -> list[tuple[dict[str, Any], JobSpec]]:
    """Every variant of ``scan`` as ``(values, JobSpec)``, each validated; SpecError with
    ``variants[i].<field>`` locations when a value is invalid (nothing is returned then),
    ``parameters.<path>`` when a path finds nothing, ``(scan)`` over the variant cap."""
    problems = scan.problems()
    if problems:
        raise SpecError(problems)
    n = scan.count()
    if n > max_variants:
        raise SpecError(
            [
                {
                    "loc": "(scan)",
                    "msg": f"the scan expands to {n:,} variants, over the cap of "
                    f"{max_variants:,} (BEAMTRACK_MAX_SCAN_VARIANTS)",
                }
            ]
        )
    for path in scan.paths():
        try:
            set_path(scan.base.model_dump(mode="json"), path, None)
        except ValueError as exc:
            loc = f"variants.{path}" if scan.mode == "list" else f"parameters.{path}"
            problems.append({"loc": loc, "msg": str(exc)})
    if problems:
        raise SpecError(problems)
    out: list[tuple[dict[str, Any], JobSpec]] = []
    bad = 0
    name = scan.name or scan.base.name
    for i, values in enumerate(scan.variant_values()):
        doc = scan.base.model_dump(mode="json")
        for path, value in values.items():
            set_path(doc, path, value)
        doc["name"] = f"{name[:180]}-{i}"
        try:
            out.append((values, parse_model(JobSpec, doc)))
        except SpecError as exc:
            bad += 1
            for e in exc.errors:
                if len(problems) < MAX_ERRORS:
                    problems.append(
                        {"loc": f"variants[{i}]" + ("" if e["loc"] == "(root)" else f".{e['loc']}"), "msg": e["msg"]}
                    )
    if problems:
        if bad > 1:
            problems.append({"loc": "variants", "msg": f"{bad} of {n} variants are invalid"})
        raise SpecError(problems)
    return out
