"""Pick the kernel for a line: a prebuilt one when one fits exactly, else a line-specific compile.

Candidates are the prebuilt kernels in the store (``build.prebuilt_dir()``), in definition order.
One is used only when its kind equals the requested kind, its config equals the requested config
key by key, its classes cover every element class of the line, its file is there, and its source
hash equals the hash of the installed sources (a stale kernel is never used). The first that
passes wins. Otherwise a kernel holding only the line's classes is compiled once into the user
cache (``runtime.load_kernel``) and reused from there. ``BEAMTRACK_VERBOSE=1`` prints each
candidate's verdict and what was used, on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import build, runtime, variants
from .codegen import KernelClass
from .runtime import vprint

#: Always in a line kernel: composed linear segments and integrated maps run as LinearMap ops.
ALWAYS = KernelClass(
    "LinearMap", "beamtrack/engine/elements/c/linearmap.h", spin_header="beamtrack/engine/elements/c/spin/field_free.h"
)

#: file suffix of a kernel binary per kind
SUFFIX = {"serial": ".so", "openmp": ".so", "cuda": ".cubin"}

_chosen: dict[tuple[Any, ...], Any] = {}


def forget() -> None:
    """Forget this process's choices and loaded kernels (after the store or the sources changed)."""
    _chosen.clear()
    runtime.forget()


def line_classes(classes: Iterable[KernelClass]) -> list[KernelClass]:
    """The classes of a line-specific kernel, in a deterministic order."""
    return sorted(set(classes) | {ALWAYS}, key=lambda k: k.name)


def class_to_json(k: KernelClass) -> dict[str, Any]:
    return {"name": k.name, "header": k.header, "can_lose": k.can_lose, "params": list(k.params)}


def class_from_json(d: Mapping[str, Any]) -> KernelClass:
    return KernelClass(str(d["name"]), str(d["header"]), bool(d["can_lose"]), params=tuple(d.get("params", ())))


def store_entries(store: Path | None = None) -> list[dict[str, Any]]:
    """Metadata of every prebuilt kernel in the store, in priority order (unreadable files are skipped)."""
    store = build.prebuilt_dir() if store is None else store
    out = []
    for path in sorted(store.glob("*.json")) if store.is_dir() else []:
        try:
            meta = json.loads(path.read_text())
            meta["_path"] = str(path.with_name(meta["file"]))
        except (OSError, ValueError, KeyError):
            continue
        out.append(meta)
    return sorted(out, key=lambda m: (m.get("priority", 1 << 30), m.get("name", ""), m.get("kind", "")))


def prebuilt_source(meta: Mapping[str, Any]) -> str:
    """The source the installed headers and code generator give for a prebuilt kernel's recorded contents."""
    classes = [class_from_json(c) for c in meta["classes"]]
    extra = [class_from_json(c) for c in meta.get("extra_classes", [])]
    return variants.generate(meta["kind"], classes, meta["config"], extra)


def config_diff(have: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(have) | set(want))
    return [
        f"{k}: prebuilt {have.get(k, '<absent>')!r}, wanted {want.get(k, '<absent>')!r}"
        for k in keys
        if have.get(k, "<absent>") != want.get(k, "<absent>")
    ]


def rejection(
    meta: Mapping[str, Any],
    kind: str,
    config: Mapping[str, Any],
    needed: Sequence[KernelClass],
    include_roots: Sequence[Path],
) -> str | None:
    """Why the prebuilt kernel ``meta`` cannot serve this request, or None when it can."""
    if meta.get("kind") != kind:
        return f"kind differs (prebuilt {meta.get('kind')}, wanted {kind})"
    diff = config_diff(meta.get("config", {}), config)
    if diff:
        return "config differs: " + "; ".join(diff)
    have = {class_from_json(c) for c in meta.get("classes", [])}
    missing = [k for k in needed if k not in have]
    if missing:
        return "classes missing: " + ", ".join(k.name for k in missing)
    if not Path(meta["_path"]).is_file():
        return f"file {meta['_path']} is missing"
    if kind == "cuda":
        arch = build.cuda_arch()
        if meta.get("arch") != arch:
            return f"built for {meta.get('arch')}, this device is {arch}"
    elif (why := build.cpu_mismatch(meta)) is not None:
        return why
    current = build.source_hash(prebuilt_source(meta), include_roots, kind)
    if meta.get("source_hash") != current:
        return f"stale: source hash {str(meta.get('source_hash'))[:12]} != installed sources {current[:12]}"
    return None


def load_prebuilt(meta: Mapping[str, Any], include_roots: Sequence[Path]) -> Any:
    classes = [class_from_json(c) for c in meta["classes"]]
    origin = f"prebuilt:{meta['name']}:{meta['_path']}"
    return runtime.load_file(meta["kind"], Path(meta["_path"]), classes, include_roots, meta["config"], origin)


def same_list_kernel(
    kind: str,
    classes: Sequence[KernelClass],
    extra: Sequence[KernelClass],
    config: Mapping[str, Any],
    include_roots: Sequence[Path],
) -> Any:
    """A kernel with exactly ``classes`` in this order (so op kind ids stay valid) built for ``config``:
    a prebuilt one with that very list when fresh, else compiled into the user cache."""
    for meta in store_entries():
        if [class_from_json(c) for c in meta.get("classes", [])] != list(classes):
            continue
        if rejection(meta, kind, config, classes, include_roots) is None:
            vprint(f"wider kernel: prebuilt {meta['name']!r} ({kind})")
            return _with_widen(load_prebuilt(meta, include_roots), kind, extra, include_roots)
    return _with_widen(runtime.load_kernel(kind, classes, include_roots, config, extra), kind, extra, include_roots)


def _with_widen(kernel: Any, kind: str, extra: Sequence[KernelClass], include_roots: Sequence[Path]) -> Any:
    if kernel.widen is None:
        kernel.widen = lambda cfg: same_list_kernel(kind, kernel.classes, extra, cfg, include_roots)
    return kernel


def get_kernel(
    kind: str, classes: Iterable[KernelClass], config: Mapping[str, Any], include_roots: Sequence[Path]
) -> Any:
    """The kernel of ``kind`` for a line using ``classes``, built for ``config`` (see the module doc)."""
    cfg = variants.normalize(config)
    needed = line_classes(classes)
    roots = list(include_roots)
    key = (kind, tuple(needed), tuple(sorted(cfg.items())), tuple(roots))
    if key in _chosen:
        return _chosen[key]
    vprint(f"kernel request: kind {kind}, config {cfg}, classes {', '.join(k.name for k in needed)}")
    kernel = None
    for meta in store_entries():
        label = f"prebuilt {meta.get('name')!r} ({meta.get('kind')})"
        why = rejection(meta, kind, cfg, needed, roots)
        if why is not None:
            vprint(f"  {label}: rejected: {why}")
            continue
        vprint(f"  {label}: accepted")
        kernel = load_prebuilt(meta, roots)
        vprint(f"using prebuilt kernel {meta['name']!r} ({kind}, {len(meta['classes'])} classes) from {meta['_path']}")
        extra = [class_from_json(c) for c in meta.get("extra_classes", [])]
        break
    if kernel is None:
        vprint(f"no prebuilt kernel fits (store {build.prebuilt_dir()}): using a line-specific kernel")
        extra = []
        kernel = runtime.load_kernel(kind, needed, roots, cfg)
    _chosen[key] = _with_widen(kernel, kind, extra, roots)
    return kernel
