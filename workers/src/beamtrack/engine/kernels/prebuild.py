"""``beamtrack-prebuild``: build, list and remove the prebuilt kernels.

    beamtrack-prebuild regenerate [--kind serial,openmp,cuda] [--only NAME,...] [--jobs N]
    beamtrack-prebuild list
    beamtrack-prebuild clean

``regenerate`` compiles every kernel definition (``kernel_definitions.definitions()``) for each
kind into the store (``build.prebuilt_dir()``: ``kernels/prebuilt`` in the package, or
$BEAMTRACK_PREBUILT_DIR): ``NAME.KIND.so`` (``.cubin`` for cuda, which needs CuPy and a GPU) and
``NAME.KIND.json`` with name, kind, config, classes, extra classes, source hash, compiler, flags
and build time. The store holds build outputs only; it is never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import build, kernel_definitions, select, variants


def _gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:  # no CuPy or no driver
        return False


def _kernel_files(store: Path) -> list[Path]:
    return [p for p in store.glob("*.*") if p.suffix in (".so", ".cubin", ".json", ".lock") and p.name.count(".") >= 2]


def clean(store: Path | None = None, names: Sequence[str] | None = None, kinds: Sequence[str] | None = None) -> int:
    """Remove prebuilt kernels (all, or those of ``names`` / ``kinds``). Returns how many files went."""
    store = build.prebuilt_dir() if store is None else store
    if not store.is_dir():
        return 0
    n = 0
    for path in _kernel_files(store):
        name, kind = path.name.split(".")[:2]
        if (names is None or name in names) and (kinds is None or kind in kinds):
            path.unlink(missing_ok=True)
            n += 1
    return n


def build_one(
    name: str, priority: int, entry: dict[str, Any], kind: str, store: Path, include_roots: Sequence[Path]
) -> dict[str, Any]:
    """Compile one definition for one kind into the store and write its metadata."""
    classes = kernel_definitions.kernel_classes(entry)
    extra = list(entry.get("extra_classes", []))
    config = variants.normalize(entry["config"])
    src = variants.generate(kind, classes, config, extra)
    out = store / f"{name}.{kind}{select.SUFFIX[kind]}"
    with build.file_lock(store / f"{name}.{kind}.lock"):
        if kind == "cuda":
            meta: dict[str, Any] = build.compile_cuda(src, include_roots, out)
        else:
            meta = build.compile_cpu(src, kind, include_roots, out)
        meta.update(
            name=name,
            kind=kind,
            priority=priority,
            config=config,
            file=out.name,
            classes=[select.class_to_json(k) for k in classes],
            extra_classes=[select.class_to_json(k) for k in extra],
            element_types=list(entry["classes"]),
            source_hash=build.source_hash(src, include_roots, kind),
        )
        build.write_metadata(store / f"{name}.{kind}.json", meta)
    (store / f"{name}.{kind}.lock").unlink(missing_ok=True)
    return meta


def _up_to_date(
    name: str, entry: dict[str, Any], kind: str, store: Path, roots: Sequence[Path]
) -> dict[str, Any] | None:
    """The stored metadata of (name, kind) when its kernel exists and is what a build now would give."""
    meta_path = store / f"{name}.{kind}.json"
    if not meta_path.exists() or not (store / f"{name}.{kind}{select.SUFFIX[kind]}").exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        src = variants.generate(
            kind,
            kernel_definitions.kernel_classes(entry),
            variants.normalize(entry["config"]),
            list(entry.get("extra_classes", [])),
        )
        current = build.source_hash(src, roots, kind)
    except Exception:  # unreadable metadata or a definition that no longer builds: rebuild it
        return None
    return meta if meta.get("source_hash") == current and build.cpu_mismatch(meta) is None else None


def regenerate(
    kinds: Sequence[str] = ("serial",),
    only: Sequence[str] | None = None,
    store: Path | None = None,
    definitions: list[kernel_definitions.Definition] | None = None,
    jobs: int | None = None,
    include_roots: Sequence[Path] | None = None,
    log: Any = None,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Build every definition (or those named in ``only``) for every kind; returns their metadata.

    Kernels already in the store with the source hash a build would give now are kept, unless ``force``."""
    from ..elements.registry import include_roots as registry_roots

    store = build.prebuilt_dir() if store is None else store
    roots = list(registry_roots() if include_roots is None else include_roots)
    defs = kernel_definitions.definitions() if definitions is None else definitions
    if only is not None:
        unknown = sorted(set(only) - {n for n, _ in defs})
        if unknown:
            raise ValueError(f"no kernel definition named {', '.join(unknown)}; have {', '.join(n for n, _ in defs)}")
    for kind in kinds:
        if kind not in select.SUFFIX:
            raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(select.SUFFIX)}")
        if kind == "cuda" and not _gpu():
            raise RuntimeError("--kind cuda needs CuPy and a CUDA device (cupy.cuda.is_available() is False)")
    store.mkdir(parents=True, exist_ok=True)
    ignore = store / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# prebuilt kernels are build outputs (beamtrack-prebuild regenerate), never committed\n*\n")
    todo = [
        (name, prio, entry, kind)
        for prio, (name, entry) in enumerate(defs)
        if only is None or name in only
        for kind in kinds
    ]
    kept = []
    if not force:
        fresh = {
            (name, kind): m
            for name, _, entry, kind in todo
            if (m := _up_to_date(name, entry, kind, store, roots)) is not None
        }
        kept = list(fresh.values())
        todo = [t for t in todo if (t[0], t[3]) not in fresh]
        if log is not None and kept:
            print(f"{len(kept)} prebuilt kernels already up to date (use --force to rebuild them)", file=log)
    for name, _, _, kind in todo:
        clean(store, names=[name], kinds=[kind])
    select.forget()
    t0 = time.perf_counter()
    # CPU compiles are separate processes: run them side by side; NVRTC runs in this process
    workers = 1 if "cuda" in kinds else (jobs or min(len(todo), os.cpu_count() or 1) or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(build_one, name, prio, entry, kind, store, roots) for name, prio, entry, kind in todo]
        metas = []
        for f in futures:
            meta = f.result()
            metas.append(meta)
            if log is not None:
                print(
                    f"built {meta['name']}.{meta['kind']}: {len(meta['classes'])} classes, "
                    f"config {meta['config']}, {meta['build_seconds']:.1f} s",
                    file=log,
                )
    if log is not None:
        print(f"{len(metas)} kernels built in {time.perf_counter() - t0:.1f} s -> {store}", file=log)
    return kept + metas


def _fresh(meta: dict[str, Any], roots: Sequence[Path]) -> str:
    try:
        current = build.source_hash(select.prebuilt_source(meta), roots, meta["kind"])
    except Exception as exc:  # a class or header that no longer exists
        return f"stale ({exc})"
    return "fresh" if current == meta.get("source_hash") else "stale"


def list_store(store: Path | None = None, out: Any = sys.stdout) -> list[dict[str, Any]]:
    from ..elements.registry import include_roots

    store = build.prebuilt_dir() if store is None else store
    metas = select.store_entries(store)
    if not metas:
        print(f"no prebuilt kernels in {store} (run: beamtrack-prebuild regenerate --kind serial,openmp)", file=out)
        return metas
    print(f"prebuilt kernels in {store} (priority order):", file=out)
    for m in metas:
        cfg = ",".join(k for k, v in sorted(m["config"].items()) if v) or "-"
        print(
            f"  {m['name']:<22} {m['kind']:<7} config[{cfg}] {len(m['classes'])} classes  "
            f"{_fresh(m, include_roots())}  built {m.get('built_at', '?')} in {m.get('build_seconds', 0):.1f} s  "
            f"{m.get('compiler', '')}",
            file=out,
        )
    return metas


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="beamtrack-prebuild", description="Build, list and remove prebuilt kernels.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    reg = sub.add_parser("regenerate", help="compile every kernel definition for the given kinds")
    reg.add_argument("--kind", default="serial", help="comma-separated kinds: serial, openmp, cuda (default serial)")
    reg.add_argument("--only", default=None, help="comma-separated definition names (default all)")
    reg.add_argument("--jobs", type=int, default=None, help="parallel compiles (default: CPU count)")
    reg.add_argument("--force", action="store_true", help="rebuild kernels that are already up to date")
    sub.add_parser("list", help="show the prebuilt kernels and whether they are fresh")
    sub.add_parser("clean", help="remove every prebuilt kernel")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "regenerate":
            kinds = [k.strip() for k in args.kind.split(",") if k.strip()]
            only = [n.strip() for n in args.only.split(",")] if args.only else None
            regenerate(kinds, only=only, jobs=args.jobs, log=sys.stdout, force=args.force)
        elif args.cmd == "list":
            list_store()
        else:
            n = clean()
            print(f"removed {n} files from {build.prebuilt_dir()}")
    except (ValueError, RuntimeError, build.KernelBuildError, kernel_definitions.KernelDefinitionError) as exc:
        print(f"beamtrack-prebuild: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
