"""ImpactX 26.10's ``sim.lattice``: the engine's lattice list with ImpactX's ``select`` and ``load_file``.

``select(kind=..., name=...)`` returns a ``FilteredElementsList``: a view holding positions in the
lattice, whose items are the lattice's own elements (changing ``ds``, ``k``, ... on them changes the
lattice, also between turns from a hook). Within one call the criteria are OR-ed (a kind in the list,
or a name in the list); chained ``select`` calls AND. A string is matched exactly unless it holds a
regular-expression character (``.*+?^${}[]|()\\``), then with ``re.search``; a type matches by
``isinstance``. As in ImpactX, a view is invalid once the lattice is edited (append, delete, ...):
using it raises RuntimeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from beamtrack.engine.elements.base import Element
from beamtrack.engine.lattice import Lattice

#: ImpactX 26.10's KnownElementsList methods beamtrack does not have (they raise NotImplementedError naming them)
_MISSING_LIST_METHODS = frozenset(
    {"from_dicts", "generation", "isclose", "map_trace", "plot_survey", "to_dicts", "to_py"}
)
_REGEX_CHARS = set(r".*+?^${}[]|()\\")
_INVALID = "this selection is no longer valid: the lattice was edited after it was taken; select again from the lattice"


def _matches(text: str, pattern: str) -> bool:
    if _REGEX_CHARS & set(pattern):
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return text == pattern
    return text == pattern


def _kind_name(element: Element) -> str:
    """The ImpactX element kind (the engine class's name: a user subclass keeps its base's kind)."""
    from beamtrack.engine import elements as E

    for base in type(element).__mro__:
        if getattr(E, base.__name__, None) is base:
            return base.__name__
    return type(element).__name__


def _as_list(value: Any, allowed: tuple[type, ...], what: str) -> list[Any] | None:
    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in items:
        if not isinstance(v, allowed):
            raise TypeError(
                f"'{what}' parameter must be a string{'/type' if type in allowed else ''} or a list of them"
            )
    return items


def _match(element: Element, kinds: list[Any] | None, names: list[str] | None) -> bool:
    for k in kinds or ():
        if isinstance(k, type):
            if isinstance(element, k):
                return True
        elif _matches(type(element).__name__, k) or _matches(_kind_name(element), k):
            return True
    name = getattr(element, "name", None)
    return name is not None and any(_matches(str(name), n) for n in names or ())


class _KindQueries:
    """ImpactX's kind queries, shared by the lattice list and a selection of it (both iterate elements)."""

    def _elements(self) -> Iterable[Element]:
        return cast("Iterable[Element]", self)

    def get_kinds(self) -> list[type]:
        """The distinct element types, in order of first appearance."""
        out: list[type] = []
        for el in self._elements():
            if type(el) not in out:
                out.append(type(el))
        return out

    def count_by_kind(self, kind_pattern: Any) -> int:
        return sum(_match(el, [kind_pattern], None) for el in self._elements())

    def has_kind(self, kind_pattern: Any) -> bool:
        return self.count_by_kind(kind_pattern) > 0


class FilteredElementsList(_KindQueries):
    """A selection of lattice positions (ImpactX's ``FilteredElementsList``); items are the lattice's elements."""

    def __init__(self, lattice: KnownElementsList, indices: Iterable[int]):
        self._lattice = lattice
        self._indices = list(indices)
        self._stamp = lattice._stamp()

    def _require_valid(self) -> None:
        if self._lattice._stamp() != self._stamp:
            raise RuntimeError(_INVALID)

    def __getitem__(self, key: int | slice) -> Any:
        self._require_valid()
        if isinstance(key, slice):
            return FilteredElementsList(self._lattice, self._indices[key])
        if isinstance(key, int):
            return self._lattice[self._indices[key]]
        raise TypeError(f"Invalid key type: {type(key)}")

    def __len__(self) -> int:
        self._require_valid()
        return len(self._indices)

    def __iter__(self) -> Iterator[Element]:
        self._require_valid()
        for i in self._indices:
            self._require_valid()
            yield self._lattice[i]

    def select(self, *, kind: Any = None, name: Any = None) -> FilteredElementsList:
        """Narrow this selection (AND with the criteria so far); see the module docstring."""
        self._require_valid()
        if kind is None and name is None:
            return FilteredElementsList(self._lattice, self._indices)
        kinds = _as_list(kind, (str, type), "kind")
        names = _as_list(name, (str,), "name")
        return FilteredElementsList(self._lattice, [i for i in self._indices if _match(self._lattice[i], kinds, names)])

    def delete(self) -> None:
        """Remove the selected elements from the lattice (invalidates every selection of it)."""
        self._require_valid()
        drop = set(self._indices)
        if drop:
            kept = [el for i, el in enumerate(self._lattice) if i not in drop]
            self._lattice.clear()
            self._lattice.extend(kept)

    def __getattr__(self, name: str) -> Any:
        if name in ("replace_each", "replace_with_drifts", "isclose"):
            raise NotImplementedError(f"ImpactX FilteredElementsList.{name} is not implemented in beamtrack")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        self._require_valid()
        return f"FilteredElementsList({len(self._indices)} elements: {[self._lattice[i] for i in self._indices]})"


class KnownElementsList(Lattice, _KindQueries):
    """ImpactX's element list (``sim.lattice``, ``elements.KnownElementsList()``): the engine's lattice list with
    ImpactX's ``select``, ``load_file`` and kind queries."""

    def _stamp(self) -> tuple[int, ...]:
        """What a selection checks: the identity of the element at each position."""
        return tuple(map(id, self))

    def select(self, *, kind: Any = None, name: Any = None) -> FilteredElementsList:
        """Elements by kind and/or name (OR within one call); see the module docstring."""
        return FilteredElementsList(self, range(len(self))).select(kind=kind, name=name)

    def is_empty(self) -> bool:
        return len(self) == 0

    def size(self) -> int:
        return len(self)

    def pop_back(self) -> Element:
        """Remove and return the last element."""
        return self.pop()

    def transfer_map(  # type: ignore[override]
        self, ref: Any, order: str = "linear", fallback_identity_map: bool = False
    ) -> Any:
        """ImpactX's end-to-end linear map on (x, px, y, py, t, pt), a Map6x6: the product of each element's linear
        map about the reference orbit at its entry, ``ref`` (a copy) pushed element by element. Each element's map is
        the engine's ``Lattice.transfer_map`` of that element alone (exact for linear elements, a central-difference
        Jacobian at the reference for the others). An element misaligned off the orbit makes this differ from the
        Jacobian of the whole line about the on-axis particle, which sees the offset in later nonlinear elements."""
        if order != "linear":
            raise NotImplementedError(
                f"ImpactX lattice.transfer_map(order={order!r}) is not implemented (only 'linear')"
            )
        if fallback_identity_map:
            raise NotImplementedError(
                "ImpactX lattice.transfer_map(fallback_identity_map=True) is not implemented in beamtrack (it computes "
                "every element's map, Programmable ones included, by tracking)"
            )
        import numpy as np
        from beamtrack.engine.simulation import Simulation

        from .amrex import SmallMatrix_6x6_F_SI1_double

        r = ref.copy()
        total = np.eye(6)
        for el in self:
            one = Simulation(kind="serial", diagnostics=False)
            one.reference = r.copy()
            one.lattice.append(el)
            total = one.lattice.transfer_map() @ total
            r.sedge = r.s
            el.push_ref(r, el.nslice)
        return SmallMatrix_6x6_F_SI1_double(total)

    def __getattr__(self, name: str) -> Any:
        if name in _MISSING_LIST_METHODS:
            raise NotImplementedError(f"ImpactX lattice.{name} is not implemented in beamtrack")
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def load_file(self, filename: str | Path, nslice: int = 1, *, min_model: str = "linear") -> None:
        """Append the lattice of a MAD-X file (``.madx``; see ``beamtrack.impactx.madx`` for the subset read) or of a
        PALS file (``name.pals.yaml``, ``name.pals.json``; see ``beamtrack.impactx.pals``), as ImpactX 26.10: the
        file type is the last extension, or for PALS the one before it.

        min_model: ImpactX's element-model floor ("linear", "paraxial", "exact"); MAD-X files are read with
        ImpactX's default ("linear") models only.
        """
        path = Path(filename)
        if path.suffix == ".madx":
            from .pals import validate_model

            if validate_model(min_model) != "linear":
                raise NotImplementedError(
                    f"ImpactX option lattice.load_file(min_model={min_model!r}) is not implemented in beamtrack for "
                    "MAD-X files (only 'linear')"
                )
            from .madx import load_lattice

            self.extend(load_lattice(path, nslice))
            return
        if Path(path.stem).suffix == ".pals":
            from .pals import load

            self.from_pals(load(path), nslice, min_model=min_model)
            return
        raise RuntimeError(f"load_file: No support for file {filename} with extension {path.suffix} yet.")

    def from_pals(self, pals_beamline: Any, nslice: int = 1, *, min_model: str = "linear") -> None:
        """Append a PALS object (``pals.PALSroot``, ``Lattice`` or ``BeamLine``) as ImpactX elements
        (``beamtrack.impactx.pals``)."""
        from .pals import read_lattice

        self.extend(read_lattice(pals_beamline, nslice, min_model=min_model))
