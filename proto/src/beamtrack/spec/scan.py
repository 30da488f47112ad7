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

Every variant is validated, but not as a whole JobSpec: the base is validated once, and a variant
re-validates only the fields its paths change, each as the smallest part of the spec whose
validity does not depend on anything outside it (``_Unit``): a field of a model without
validators (``beam.seed`` alone), else the whole model that holds it (an element, whose
validators compare its fields; a distribution). The JobSpec's own cross-field (after)
validators then run on the variant. A variant that fails any check is validated again as a
whole JobSpec, so its errors are exactly those of a full validation.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import random
import re
import types
import typing
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote  # type: ignore[attr-defined]
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, JsonValue, Tag, TypeAdapter, model_validator

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
    for loc in locate(doc, path):
        node: Any = doc
        for part in loc[:-1]:
            node = node[part]
        node[loc[-1]] = value


def locate(doc: dict[str, Any], path: str) -> list[tuple[str | int, ...]]:
    """Where ``path`` points in the spec dict ``doc``: the key/index tuple of each field it names
    (one per element a ``name=`` selector matches); ValueError naming what it does not find."""
    nodes: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    where = ""
    steps = parse_path(path)
    for kind, arg in steps:
        nxt: list[tuple[Any, tuple[str | int, ...]]] = []
        for node, loc in nodes:
            if kind == "key":
                if not isinstance(node, dict) or arg not in node:
                    raise ValueError(f"no field {arg!r} at {where or '(root)'}")
                nxt.append((node[arg], (*loc, arg)))
            elif kind == "index":
                assert isinstance(arg, int)
                if not isinstance(node, list) or not 0 <= arg < len(node):
                    size = len(node) if isinstance(node, list) else 0
                    raise ValueError(f"{where} has no item [{arg}] (it has {size})")
                nxt.append((node[arg], (*loc, arg)))
            else:
                if not isinstance(node, list):
                    raise ValueError(f"{where} is not a list of elements")
                hits = [(i, e) for i, e in enumerate(node) if isinstance(e, dict) and e.get("name") == arg]
                if not hits:
                    raise ValueError(f"{where} has no element named {arg!r}")
                nxt.extend((e, (*loc, i)) for i, e in hits)
        where += (
            (f".{arg}" if where else str(arg))
            if kind == "key"
            else (f"[{arg}]" if kind == "index" else f"[name={arg}]")
        )
        nodes = nxt
    return [loc for _node, loc in nodes]


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


@dataclass
class Variant:
    """One expanded variant: its parameter ``values`` ({path: value}), its validated ``spec``
    and ``doc``, the spec's JSON-ready dict (what ``spec.model_dump(mode="json")`` gives), and
    ``canonical``, the result cache's JSON text of it.
    Variants share the parts their paths do not change with the base and with each other:
    treat ``spec`` and ``doc`` as read-only."""

    values: dict[str, Any]
    spec: JobSpec
    doc: dict[str, Any]
    #: ``canonical_json(doc)``: the result cache's text of the spec
    canonical: str


def expand(scan: ScanSpec, *, max_variants: int = MAX_VARIANTS) -> list[tuple[dict[str, Any], JobSpec]]:
    """Every variant of ``scan`` as ``(values, JobSpec)``, each validated; SpecError with
    ``variants[i].<field>`` locations when a value is invalid (nothing is returned then),
    ``parameters.<path>`` when a path finds nothing, ``(scan)`` over the variant cap. The
    variants share the parts their paths leave alone (``Variant``): copy one
    (``spec.model_copy(deep=True)``) before changing it in place."""
    return [(v.values, v.spec) for v in expand_variants(scan, max_variants=max_variants)]


def expand_variants(scan: ScanSpec, *, max_variants: int = MAX_VARIANTS) -> list[Variant]:
    """``expand`` with each variant's JSON-ready dict (see ``Variant``)."""
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
    base_doc = scan.base.model_dump(mode="json")
    where: dict[str, list[tuple[str | int, ...]]] = {}
    for path in scan.paths():
        try:
            where[path] = locate(base_doc, path)
        except ValueError as exc:
            loc = f"variants.{path}" if scan.mode == "list" else f"parameters.{path}"
            problems.append({"loc": loc, "msg": str(exc)})
    if problems:
        raise SpecError(problems)
    out: list[Variant] = []
    bad = 0
    name = scan.name or scan.base.name
    fast = _fast_validation_applies()
    base_text = Canonical(base_doc)
    for i, values in enumerate(scan.variant_values()):
        doc, spec = _variant(scan.base, base_doc, where, values, f"{name[:180]}-{i}", fast=fast)
        if spec is not None:
            out.append(Variant(values, spec, doc, canonical_json(doc, base_text)))
            continue
        bad += 1
        try:
            parse_model(JobSpec, doc)
        except SpecError as exc:
            for e in exc.errors:
                if len(problems) < MAX_ERRORS:
                    problems.append(
                        {"loc": f"variants[{i}]" + ("" if e["loc"] == "(root)" else f".{e['loc']}"), "msg": e["msg"]}
                    )
        else:  # pragma: no cover - the partial check refused what a full validation accepts
            raise AssertionError(f"variant {i}: the partial validation refused a valid spec")
    if problems:
        if bad > 1:
            problems.append({"loc": "variants", "msg": f"{bad} of {n} variants are invalid"})
        raise SpecError(problems)
    return out


# --- validating a variant by the parts it changes ---------------------------------------------------
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class _Unit:
    """The smallest part of a JobSpec, at ``loc``, that a changed field is validated as: a
    ``TypeAdapter`` of what the spec's model declares there."""

    loc: Loc
    adapter: TypeAdapter[Any]


def _plain(model: type[BaseModel]) -> bool:
    """True when ``model`` has no validators, serializers or computed fields: each of its
    fields is then valid on its own."""
    d = model.__pydantic_decorators__
    return not (
        d.validators
        or d.field_validators
        or d.root_validators
        or d.field_serializers
        or d.model_serializers
        or d.model_validators
        or d.computed_fields
    )


def _fast_validation_applies() -> bool:
    """The JobSpec has only after-validators (run on each variant) and nothing else that ties its
    fields together; otherwise every variant is validated whole."""
    d = JobSpec.__pydantic_decorators__
    plain_but_after = not (
        d.validators
        or d.field_validators
        or d.root_validators
        or d.field_serializers
        or d.model_serializers
        or d.computed_fields
    )
    return plain_but_after and all(v.info.mode == "after" for v in d.model_validators.values())


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class an annotation declares (``M`` or ``M | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


@functools.lru_cache(maxsize=512)
def _field_adapter(model: type[BaseModel], key: str) -> TypeAdapter[Any]:
    f = model.model_fields[key]
    sub: Any = _model_of(f.annotation)
    if sub is not None and sub is f.annotation:  # a model: its own config applies
        return TypeAdapter(sub)
    config = ConfigDict(allow_inf_nan=model.model_config.get("allow_inf_nan", True))
    if model.model_config.get("strict"):
        config["strict"] = True
    declared: Any = Annotated[f.annotation, f]  # the field's type with its constraints
    return TypeAdapter(declared, config=config)


@functools.lru_cache(maxsize=512)
def _item_adapter(model: type[BaseModel], key: str) -> TypeAdapter[Any]:
    (item,) = typing.get_args(model.model_fields[key].annotation)
    return TypeAdapter(item)


@functools.lru_cache(maxsize=4096)
def _unit(loc: Loc) -> _Unit | None:
    """The unit that the field at ``loc`` (keys and list indices into a JobSpec dict) is validated
    as; None when that would be the whole JobSpec."""
    model: type[BaseModel] = JobSpec
    unit: _Unit | None = None
    i = 0
    while i < len(loc):
        key = loc[i]
        if model is not JobSpec and not _plain(model):
            return unit  # the model's validators see all of it: validate it whole
        if not isinstance(key, str) or key not in model.model_fields:
            return unit
        ann = model.model_fields[key].annotation
        unit = _Unit(loc[: i + 1], _field_adapter(model, key))
        sub = _model_of(ann)
        if sub is not None:
            model, i = sub, i + 1
            continue
        if typing.get_origin(ann) is list and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            unit = _Unit(loc[: i + 2], _item_adapter(model, key))
            (item,) = typing.get_args(ann)
            if not (isinstance(item, type) and issubclass(item, BaseModel)):
                return unit  # a union of models (the elements): validated as the union
            model, i = item, i + 2
            continue
        return unit
    return unit


def _with(obj: Any, changes: dict[Any, Any]) -> Any:
    """A copy of the model / list ``obj`` with the parts in ``changes`` replaced (a tree: key or
    index -> new value, or ``_Sub`` of changes below it); the rest shared, nothing validated."""
    new = {
        k: _with(getattr(obj, k) if isinstance(k, str) else obj[k], v.changes) if isinstance(v, _Sub) else v
        for k, v in changes.items()
    }
    if isinstance(obj, list):
        out = list(obj)
        for i, v in new.items():
            out[i] = v
        return out
    assert isinstance(obj, BaseModel)
    return obj.model_copy(update=new)


@dataclass
class _Sub:
    """Changes below one key of ``_with``'s tree."""

    changes: dict[Any, Any]


def _add_change(tree: dict[Any, Any], loc: Loc, value: Any) -> None:
    for part in loc[:-1]:
        sub = tree.setdefault(part, _Sub({}))
        tree = sub.changes
    tree[loc[-1]] = value


def _variant(
    base: JobSpec,
    base_doc: dict[str, Any],
    where: dict[str, list[Loc]],
    values: dict[str, Any],
    name: str,
    *,
    fast: bool,
) -> tuple[dict[str, Any], JobSpec | None]:
    """The variant's dict and its validated JobSpec (None when it is invalid; the dict then
    shows what to validate whole for the errors)."""
    doc = dict(base_doc)
    doc["name"] = name
    units: dict[Loc, _Unit] = {}
    whole = not fast
    for path, value in values.items():
        for loc in where[path]:
            unit = _unit(loc) if fast else None
            if unit is None:
                whole = True
                unit = _Unit(loc[:1], _field_adapter(JobSpec, str(loc[0])))
            units.setdefault(unit.loc, unit)
            _set_copied(doc, base_doc, loc, value)
    if whole:
        try:
            spec: JobSpec = parse_model(JobSpec, doc)
        except SpecError:
            return doc, None
        return spec.model_dump(mode="json"), spec
    changes: dict[Any, Any] = {"name": name}
    for loc, unit in units.items():
        node: Any = doc
        for part in loc:
            node = node[part]
        try:
            valid = unit.adapter.validate_python(node)
        except ValueError:  # pydantic's ValidationError
            return doc, None
        _add_change(changes, loc, valid)
        _put(doc, loc, unit.adapter.dump_python(valid, mode="json"))
    spec = _with(base, changes)
    for v in JobSpec.__pydantic_decorators__.model_validators.values():
        try:
            v.func(spec)
        except (ValueError, AssertionError):
            return doc, None
    return doc, spec


def _set_copied(doc: dict[str, Any], base_doc: dict[str, Any], loc: Loc, value: Any) -> None:
    """Set ``doc``'s field at ``loc`` to ``value``, first copying (shallowly) each container on the
    way that ``doc`` still shares with ``base_doc``; the base is never changed."""
    node: Any = doc
    base_node: Any = base_doc
    for part in loc[:-1]:
        child, base_child = node[part], base_node[part]
        if child is base_child:
            child = dict(child) if isinstance(child, dict) else list(child)
            node[part] = child
        node, base_node = child, base_child
    node[loc[-1]] = value


def _put(doc: dict[str, Any], loc: Loc, value: Any) -> None:
    node: Any = doc
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value


def canonical_json(doc: dict[str, Any], base: Canonical | None = None) -> str:
    """A spec dict as the result cache's canonical JSON (``beamtrack.workers.cache``): sorted,
    compact, without its ``name``. ``base``: the ``Canonical`` of a dict that ``doc`` was made
    from; the text of the parts they share is taken from it instead of encoded again."""
    doc = {k: v for k, v in doc.items() if k != "name"}
    if base is None:
        return _encode(doc)
    return base.text(doc, base.doc)


class Canonical:
    """The canonical text of every part of the spec dict ``doc`` (``canonical_json`` of its
    variants: a part equal to the base's is not encoded again)."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = {k: v for k, v in doc.items() if k != "name"}
        #: id of a dict or list of ``doc`` -> (it, its text, the texts of its items)
        self.parts: dict[int, tuple[Any, str, dict[Any, str]]] = {}
        self._walk(self.doc)

    def _walk(self, node: Any) -> str:
        if isinstance(node, dict):
            items = {k: f"{_quote(k)}:{self._walk(v)}" for k, v in node.items()}
            text = "{" + ",".join(items[k] for k in sorted(node)) + "}"
        elif isinstance(node, list):
            items = dict(enumerate(self._walk(v) for v in node))
            text = "[" + ",".join(items.values()) + "]"
        else:
            return _encode(node)
        self.parts[id(node)] = (node, text, items)
        return text

    def text(self, node: Any, base: Any) -> str:
        """``_encode(node)``, where ``base`` is the part of ``self.doc`` at the same place."""
        part = self.parts.get(id(base))
        if part is None or part[0] is not base:
            return _encode(node)
        if node is base:
            return part[1]
        items = part[2]
        if isinstance(node, dict) and isinstance(base, dict):
            out = []
            for k in sorted(node):
                v = node[k]
                if k in base and _same(v, base[k]):
                    out.append(items[k])
                else:
                    out.append(f"{_quote(k)}:{self.text(v, base.get(k))}")
            return "{" + ",".join(out) + "}"
        if isinstance(node, list) and isinstance(base, list) and len(node) == len(base):
            return (
                "["
                + ",".join(items[i] if _same(v, base[i]) else self.text(v, base[i]) for i, v in enumerate(node))
                + "]"
            )
        return _encode(node)


def _same(a: Any, b: Any) -> bool:
    """``a`` and ``b`` encode to the same JSON text (the same object, or equal scalars of one type)."""
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, (dict, list)):
        return False
    return bool(a == b) and not (isinstance(a, float) and a == 0.0 and math.copysign(1.0, a) != math.copysign(1.0, b))


def _encode(node: Any) -> str:
    """``json.dumps(node, sort_keys=True, separators=(",", ":"))``, scalars without an encoder."""
    kind = type(node)
    if kind is float:
        return float.__repr__(node)  # what json writes for a finite float (specs hold no others)
    if kind is str:
        return _quote(node)
    if kind is int:
        return int.__repr__(node)
    if node is None:
        return "null"
    if kind is bool:
        return "true" if node else "false"
    return json.dumps(node, sort_keys=True, separators=(",", ":"))
