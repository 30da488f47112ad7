"""Element classes by ImpactX type name: the built-in ones plus plugins (entry-point group ``beamtrack.elements``)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from ..kernels.build import ENGINE_INCLUDE_ROOT, cache_dir
from .base import Element

#: The entry-point groups beamtrack reads: element classes, and C include roots (name ``include``).
GROUPS = ("beamtrack.elements", "beamtrack")
#: The file, in the kernel cache, that keeps the last scan of GROUPS with the fingerprint it was made under:
#: one per Python environment (its ``sys.prefix``), so environments sharing the cache do not evict each other.
ENTRY_POINT_CACHE = f"entry_points-{hashlib.sha256(sys.prefix.encode()).hexdigest()[:16]}.json"


#: builtin()'s last answer, with the list and length it was made from
_BUILTIN: tuple[Any, int, dict[str, type[Element]]] | None = None


def builtin() -> dict[str, type[Element]]:
    """The built-in classes by type name; made again only when ``BUILTIN_ELEMENTS`` is another list
    or grew (``element_class`` asks for every element of every spec, and pydantic's ``model_fields``
    costs ~1 us a class). Read it, do not change it."""
    global _BUILTIN
    from . import BUILTIN_ELEMENTS

    if _BUILTIN is None or _BUILTIN[0] is not BUILTIN_ELEMENTS or _BUILTIN[1] != len(BUILTIN_ELEMENTS):
        table = {cls.model_cls.model_fields["type"].default: cls for cls in BUILTIN_ELEMENTS}
        _BUILTIN = (BUILTIN_ELEMENTS, len(BUILTIN_ELEMENTS), table)
    return _BUILTIN[2]


def installed_fingerprint() -> list[Any]:
    """What an install, uninstall or upgrade of a package changes, cheaply (a directory listing per
    ``sys.path`` entry): each entry, with each ``*.dist-info`` / ``*.egg-info`` in it (where importlib.metadata
    finds entry points) and its ``entry_points.txt``'s mtime [ns] and size (an in-place rewrite shows too);
    an entry that is no directory (a zip archive) with its own mtime [ns]. Other files coming and going
    (a working directory on ``sys.path``) leave it unchanged."""
    out: list[Any] = []
    for entry in sys.path:
        where = entry or "."
        try:
            with os.scandir(where) as listing:
                metas = sorted(e.name for e in listing if e.name.lower().endswith((".dist-info", ".egg-info")))
        except OSError:
            try:
                out.append([entry, os.stat(where).st_mtime_ns])
            except OSError:
                out.append([entry, None])
            continue
        out.append([entry])
        for name in metas:
            try:
                st = os.stat(os.path.join(where, name, "entry_points.txt"))
                out.append([name, st.st_mtime_ns, st.st_size])
            except OSError:
                out.append([name, None])
    return out


@cache
def plugin_entry_points() -> dict[str, tuple[EntryPoint, ...]]:
    """The installed entry points of ``GROUPS``, by group: scanned once per process, and across processes
    reused from the kernel cache's ``ENTRY_POINT_CACHE`` while ``installed_fingerprint`` is unchanged
    (a full scan reads every installed package's metadata)."""
    fingerprint = installed_fingerprint()
    try:
        path = cache_dir() / ENTRY_POINT_CACHE
        saved = json.loads(path.read_text())
        if saved["fingerprint"] == fingerprint:
            return {g: tuple(EntryPoint(n, v, g) for n, v in saved["groups"][g]) for g in GROUPS}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    every = entry_points()  # one pass over the installed packages for all groups
    found = {g: tuple(every.select(group=g)) for g in GROUPS}
    try:
        path = cache_dir() / ENTRY_POINT_CACHE
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        groups = {g: [[ep.name, ep.value] for ep in eps] for g, eps in found.items()}
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "groups": groups}))
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache: the next process scans again
    return found


@cache
def plugin_elements() -> dict[str, type[Element]]:
    """Element classes registered by installed plugin packages."""
    out: dict[str, type[Element]] = {}
    for ep in plugin_entry_points()["beamtrack.elements"]:
        cls = ep.load()
        out[cls.model_cls.model_fields["type"].default] = cls
    return out


@cache
def include_roots() -> tuple[Path, ...]:
    """C include roots: beamtrack's own, then the parent directory of each plugin's package
    (entry point ``include`` in group ``beamtrack``), so ``#include "pkg/path/header.h"`` works."""
    roots = [ENGINE_INCLUDE_ROOT]
    for ep in plugin_entry_points()["beamtrack"]:
        if ep.name == "include":
            mod = ep.load()
            pkg_dir = Path(mod.__file__).resolve().parent
            if pkg_dir.parent not in roots:
                roots.append(pkg_dir.parent)
    return tuple(roots)


def all_elements() -> dict[str, type[Element]]:
    return {**builtin(), **plugin_elements()}


def element_class(type_name: str) -> type[Element]:
    try:
        return all_elements()[type_name]
    except KeyError:
        raise ValueError(f"unknown element type {type_name!r}") from None
