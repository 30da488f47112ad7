"""A packed run's files, recorded during the run and written in ImpactX's formats when first read.

Each variant of a pack (``beamtrack.engine.packed``) writes the files a run of it alone writes:
``diags/reduced_beam_characteristics.0``, ``ref_particle.0`` and their ``_final``, and an openPMD
series per BeamMonitor name. Writing them while tracking costs far more than the tracking itself
(a pack's rows are 100,000s of ASCII lines, its monitors 1,000s of openPMD iterations of ~80
attributes each, one at a time in openpmd-api), so a pack records them instead: ``PackOutput``
keeps each reduced-diagnostics row as numbers (the pack's rows of one step are one table) and
each monitor write as the arrays and attributes its iteration holds, and writes them, per
variant, as binary frames to ``<output_dir>/.beamtrack-packed`` (``PACKED_FILE``), renamed into
place by ``Simulation.finalize``. That file is the variant's output until someone reads it:
``materialize(output_dir)`` writes the variant's files from it with the writers an unpacked run
uses (``write_diagnostics_row``, ``BeamMonitorWriter``; the same values in the same calls, so the
same ASCII bytes and the same openPMD records and attributes), moves them into place and removes
``PACKED_FILE`` (atomically for concurrent readers: a file lock, the files renamed in, the packed
file unlinked last). The job server does that on the first listing or download of a job's files
(``JobService.job_dir``); the file travels like any other job file (an upload through the job
store from a worker on another node). ``packed_files`` lists the names the variant will have.

Frame layout (little-endian): ``b"BTPK"``, header length (uint32), data length (uint64), the
header (JSON: ``kind``, its fields, ``arrays``: [[dtype, shape], ...]), then the arrays' bytes.
Kinds: ``rows`` (steps, periods, final flags, values [n, columns], reference states [n, 12]),
``monitor`` (one iteration: the alive particles' rows, ids, reduced characteristics, reference
state, extra records) and ``index`` (the files, last).
"""

from __future__ import annotations

import fcntl
import json
import operator
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np

from .diagnostics.ascii import (
    REDUCED_FILE,
    REDUCED_FINAL_FILE,
    REF_PARTICLE_FILE,
    REF_PARTICLE_FINAL_FILE,
    SUFFIX,
    row_period,
    write_diagnostics_row,
)
from .diagnostics.openpmd import FILE_MIN_DIGITS, BeamMonitorWriter, alive_rows, resolve_backend
from .refpart import RefPart

#: The variant's recorded output, in its output directory (hidden, removed once written out).
PACKED_FILE = ".beamtrack-packed"
_PART = PACKED_FILE + ".part"
#: Prefix of the folder a variant's files are written in before they are moved into place.
_RENDERING = ".beamtrack-render-"
_MAGIC = b"BTPK"
_HEAD = struct.Struct("<4sIQ")
#: What a reference particle is made of (``RefPart``'s fields; beta, gamma, ... derive from them).
REF_STATE = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt", "mass_MeV", "charge_qe", "gyromagnetic_anomaly")
_ref_state = operator.attrgetter(*REF_STATE)
_OPENPMD = "diags/openPMD"
#: Threads ``PackOutput.close_all`` writes the variants' files with.
CLOSE_THREADS = 4


def _frame(header: dict[str, Any], arrays: Sequence[np.ndarray]) -> list[Any]:
    """One frame as the buffers to write: its head, then the arrays (C-contiguous, not copied)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    header = {**header, "arrays": [[a.dtype.str, list(a.shape)] for a in arrays]}
    head = json.dumps(header, separators=(",", ":")).encode()
    ndata = sum(a.nbytes for a in arrays)
    return [_HEAD.pack(_MAGIC, len(head), ndata) + head, *(a.reshape(-1).view(np.uint8) for a in arrays)]


def _nbytes(frame: list[Any]) -> int:
    return sum(len(b) for b in frame)


def _frames(fh: IO[bytes]) -> Iterator[tuple[dict[str, Any], list[np.ndarray]]]:
    """The frames of a packed file, in order: (header, arrays)."""
    while True:
        raw = fh.read(_HEAD.size)
        if not raw:
            return
        magic, nhead, ndata = _HEAD.unpack(raw)
        if magic != _MAGIC:
            raise ValueError(f"{getattr(fh, 'name', 'packed output')}: not a packed-output frame")
        header = json.loads(fh.read(nhead))
        data = bytearray(fh.read(ndata))  # writeable arrays (openpmd-api stores only those)
        arrays, offset = [], 0
        for dtype, shape in header["arrays"]:
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            arrays.append(np.frombuffer(data, dt, count, offset).reshape(shape))
            offset += count * dt.itemsize
        yield header, arrays


class PackOutput:
    """The recorded output of the variants ``which`` of a pack of ``sims`` (module docstring).

    Each such variant gets a writer in its ``_writers`` whose ``close`` (``Simulation.finalize``)
    writes its packed file. Recorded frames wait in memory until ``FLUSH_BYTES`` are pending for
    the whole pack, then go to each variant's ``PACKED_FILE + ".part"``. ``on_error(v, exc)``:
    what to do when variant v's output fails (the pack drops it)."""

    #: a default pack of fodo.json at 1,000 particles holds ~110 MB: written once, at finalize
    FLUSH_BYTES = 128 << 20

    def __init__(self, sims: Sequence[Any], which: Sequence[int], on_error: Callable[[int, BaseException], None]):
        self.sims = list(sims)
        self.which = list(which)
        self.on_error = on_error
        self._frames: dict[int, list[list[Any]]] = {v: [] for v in self.which}
        self._started: set[int] = set()
        self._files: dict[int, dict[str, None]] = {v: {} for v in self.which}
        self._steps: dict[tuple[int, str], set[int]] = {}
        #: the variants whose row files (per-step: False, _final: True) are in ``_files`` already
        self._named: dict[bool, set[int]] = {False: set(), True: set()}
        #: rows not yet framed: (variants, steps, periods, final, values, reference states) per call
        self._rows: list[tuple[list[int], np.ndarray, np.ndarray, bool, np.ndarray, np.ndarray]] = []
        self._names: list[str] = []
        self._pending = 0
        self._writers: dict[int, _VariantOutput] = {}
        for v in self.which:
            self.sims[v]._writers["packed"] = self._writers[v] = _VariantOutput(self, v)

    # --- recording --------------------------------------------------------------------------------
    def record_rows(
        self, which: Sequence[int], names: list[str], table: np.ndarray, final: bool, refs: np.ndarray | None = None
    ) -> None:
        """The reduced-diagnostics rows of variants ``which`` at this step (``table[i]``: variant
        ``which[i]``'s values of ``names``), to their per-step files (``final``: their _final files);
        ``refs``: their references' REF_STATE (a row each, copied), else read from the references."""
        if not which:
            return
        sims = self.sims
        steps = np.array([sims[v].tracking_step for v in which], dtype=np.int64)
        periods = np.array([row_period(sims[v].tracking_period, final) for v in which], dtype=np.int64)
        if refs is None:
            refs = np.array([_ref_state(sims[v].reference) for v in which], dtype=np.float64)
        else:
            refs = np.array(refs, dtype=np.float64)  # a copy: the caller's table moves on
        self._names = names
        self._rows.append((list(which), steps, periods, final, np.asarray(table, dtype=np.float64), refs))
        self._pending += table.nbytes + refs.nbytes
        named = self._named[final]
        kinds = (REDUCED_FINAL_FILE, REF_PARTICLE_FINAL_FILE) if final else (REDUCED_FILE, REF_PARTICLE_FILE)
        for v in which:
            if v not in named:  # the files these rows go to, once per variant
                named.add(v)
                for name in kinds:
                    self._files[v].setdefault(f"diags/{name}{SUFFIX}")
        self._maybe_flush()

    def record_monitor(self, i: int, which: Sequence[int], names: list[str], table: np.ndarray) -> None:
        """The write of BeamMonitor ``i`` (an element index) of variants ``which``: its alive
        particles, their ids and extra records, ``table[j]`` (variant ``which[j]``'s reduced
        characteristics, ``names``) and the reference particle, as ``BeamMonitorWriter.write``
        takes them."""
        for j, v in enumerate(which):
            try:
                self._record_monitor(v, self.sims[v].lattice[i], names, table[j])
            except Exception as exc:  # noqa: BLE001 - the variant fails alone
                self.on_error(v, exc)
        self._maybe_flush()

    def _record_monitor(self, v: int, el: Any, names: list[str], values: np.ndarray) -> None:
        sim = self.sims[v]
        pc = sim.beam
        real, ids = alive_rows(pc, sim.openpmd_packed_ids)
        extra = {k: np.array(pc.host(x), dtype=np.float64) for k, x in el.extra_records(pc).items()}
        for k, x in extra.items():
            if x.size != ids.size:
                raise ValueError(f"extra record {k!r} has {x.size} values for {ids.size} particles")
        backend = resolve_backend(el.backend)
        step = int(sim.tracking_step)
        header = {
            "kind": "monitor",
            "name": el.name,
            "backend": backend,
            "encoding": el.encoding,
            "packed_ids": bool(sim.openpmd_packed_ids),
            "step": step,
            "qm": float(pc.qm),
            "has_spin": bool(pc.has_spin),
            "names": names,
            "extra": list(extra),
        }
        frame = _frame(header, [real, ids, values, np.array(_ref_state(sim.reference)), *extra.values()])
        self._frames[v].append(frame)
        self._pending += _nbytes(frame)
        # the files it gives (BeamMonitorWriter: the series on first use, an iteration when accepted)
        files = self._files[v]
        files.setdefault(f"{_OPENPMD}/paraview.pmd")
        if el.encoding != "f":
            files.setdefault(f"{_OPENPMD}/{el.name}.{backend}")
        seen = self._steps.setdefault((v, f"{el.name}.{backend}.{el.encoding}"), set())
        if step not in seen and not (backend.startswith("bp") and el.encoding == "g" and ids.size == 0):
            seen.add(step)
            if el.encoding == "f":
                files.setdefault(f"{_OPENPMD}/{el.name}_{step:0{FILE_MIN_DIGITS}d}.{backend}")

    # --- to the variants' files -------------------------------------------------------------------
    def _frame_rows(self) -> None:
        """The pending rows as one ``rows`` frame per variant."""
        calls, self._rows = self._rows, []
        if not calls:
            return
        variants = np.concatenate([np.asarray(c[0], dtype=np.int64) for c in calls])
        # each variant's rows together, in the order they came (a stable sort), then one slice each
        order = np.argsort(variants, kind="stable")
        values = np.concatenate([c[4] for c in calls])[order]
        refs = np.concatenate([c[5] for c in calls])[order]
        steps = np.concatenate([c[1] for c in calls])[order]
        periods = np.concatenate([c[2] for c in calls])[order]
        final = np.concatenate([np.full(len(c[0]), c[3], dtype=np.uint8) for c in calls])[order]
        ordered = variants[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(ordered)]
        header = {"kind": "rows", "names": self._names, "spin": False, "eigen": False}
        for v, a, b in zip(ordered[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
            self._frames[v].append(_frame(header, [steps[a:b], periods[a:b], final[a:b], values[a:b], refs[a:b]]))

    def _maybe_flush(self) -> None:
        if self._pending >= self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Every pending frame to its variant's part file."""
        self._frame_rows()
        for v, frames in self._frames.items():
            if frames:
                self._append(v, frames)
                frames.clear()
        self._pending = 0

    def _append(self, v: int, frames: list[list[Any]], *, raise_errors: bool = False) -> None:
        path = self.sims[v].output_dir / _PART
        try:
            if v not in self._started:
                path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab" if v in self._started else "wb") as fh:
                for frame in frames:
                    for buf in frame:
                        fh.write(buf)
            self._started.add(v)
        except Exception as exc:  # noqa: BLE001 - the variant fails alone
            if raise_errors:
                raise
            self.on_error(v, exc)

    def close_all(self, which: Sequence[int], threads: int = CLOSE_THREADS) -> dict[int, BaseException]:
        """``close`` for each variant of ``which`` whose file is still open, ``threads`` at a time:
        creating, writing and renaming a file per variant is the file system's metadata work,
        which waits rather than computes (on this project's 2-core VM ~0.6 ms a file alone, ~4x
        less with 4 threads). Returns the variants whose file failed, with the error; each is
        closed either way (its ``Simulation.finalize`` does not write it again)."""
        self._frame_rows()
        todo = [v for v in which if v in self._writers and not self._writers[v].closed]
        for v in todo:
            self._writers[v].closed = True
        errors: dict[int, BaseException] = {}

        def one(v: int) -> None:
            try:
                self.close(v)
            except Exception as exc:  # noqa: BLE001 - that variant's file failed, the others go on
                errors[v] = exc

        if len(todo) > 1 and threads > 1:
            with ThreadPoolExecutor(min(threads, len(todo)), thread_name_prefix="pack-output") as pool:
                list(pool.map(one, todo))
        else:
            for v in todo:
                one(v)
        return errors

    def close(self, v: int) -> None:
        """Variant v's packed file, complete: its pending frames and the index, then renamed into place."""
        self._frame_rows()
        frames = self._frames[v]
        frames.append(_frame({"kind": "index", "files": sorted(self._files[v])}, []))
        try:
            self._append(v, frames, raise_errors=True)
        finally:
            frames.clear()
        if v in self._started:
            out = self.sims[v].output_dir
            os.replace(out / _PART, out / PACKED_FILE)
            self._started.discard(v)


class _VariantOutput:
    """What ``Simulation.finalize`` closes for a variant of a ``PackOutput``."""

    def __init__(self, output: PackOutput, v: int):
        self.output, self.v, self.closed = output, v, False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.output.close(self.v)


# --- reading --------------------------------------------------------------------------------------
def packed_files(output_dir: str | os.PathLike[str]) -> list[str] | None:
    """The files (relative names) ``materialize`` will write in ``output_dir``; None when it holds
    no packed output."""
    try:
        fh = open(Path(output_dir) / PACKED_FILE, "rb")
    except FileNotFoundError:
        return None
    with fh:
        files: list[str] = []
        while True:
            raw = fh.read(_HEAD.size)
            if not raw:
                return files
            _magic, nhead, ndata = _HEAD.unpack(raw)
            header = json.loads(fh.read(nhead))
            if header["kind"] == "index":
                files = list(header["files"])
            fh.seek(ndata, os.SEEK_CUR)


def internal_file(name: str) -> bool:
    """Whether ``name`` (relative to an output directory) is this module's, not a file of the run:
    the recorded output, complete or still being written, or files being written out."""
    head = name.split("/", 1)[0]
    return head.startswith((PACKED_FILE, _RENDERING))


def materialize(output_dir: str | os.PathLike[str]) -> bool:
    """Write the files of the packed output in ``output_dir`` (``PACKED_FILE``) and remove it;
    False when there is none (never packed, or written out already). Safe to call from several
    threads and processes at once: one writes, the others wait for it and return False."""
    out = Path(output_dir)
    path = out / PACKED_FILE
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return False
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when fh closes
        if not path.exists():
            return False  # another reader wrote the files meanwhile
        tmp = Path(tempfile.mkdtemp(prefix=_RENDERING, dir=out))
        try:
            _render(_frames(fh), tmp)
            for src in sorted(p for p in tmp.rglob("*") if p.is_file()):
                rel = src.relative_to(tmp)
                dest = out / rel
                # paraview.pmd names the series of the last writer made: in an unpacked run the
                # lost particles' (at finalize, after every monitor), which finalize wrote already
                if rel.name == "paraview.pmd" and dest.exists():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        path.unlink()
    return True


def _render(frames: Iterator[tuple[dict[str, Any], list[np.ndarray]]], out: Path) -> None:
    """The files of ``frames`` under ``out``, written as an unpacked run writes them."""
    diags = out / "diags"
    tables: dict[str, Any] = {}
    series: dict[tuple[str, str, str], BeamMonitorWriter] = {}
    try:
        for header, arrays in frames:
            if header["kind"] == "rows":
                _render_rows(tables, diags, header, arrays)
            elif header["kind"] == "monitor":
                _render_monitor(series, diags / "openPMD", header, arrays)
    finally:
        for w in tables.values():
            w.close()
        for s in series.values():
            s.close()


def _render_rows(tables: dict[str, Any], diags: Path, header: dict[str, Any], arrays: list[np.ndarray]) -> None:
    steps, periods, final, values, refs = arrays
    names = header["names"]
    for step, period, fin, vals, state in zip(
        steps.tolist(), periods.tolist(), final.tolist(), values.tolist(), refs.tolist(), strict=True
    ):
        ref = RefPart(**dict(zip(REF_STATE, state, strict=True)))
        row = {"step": step, "period": period, "s": ref.s, **dict(zip(names, vals, strict=True))}
        write_diagnostics_row(
            tables,
            diags,
            step,
            row,
            ref,
            final=bool(fin),
            spin_columns=header["spin"],
            eigen_columns=header["eigen"],
        )


def _render_monitor(
    series: dict[tuple[str, str, str], BeamMonitorWriter],
    folder: Path,
    header: dict[str, Any],
    arrays: list[np.ndarray],
) -> None:
    real, ids, values, state, *extra = arrays
    key = (header["name"], header["backend"], header["encoding"])
    w = series.get(key)
    if w is None:
        w = series[key] = BeamMonitorWriter(folder, *key, packed_ids=header["packed_ids"])
    ref = RefPart(**dict(zip(REF_STATE, state.tolist(), strict=True)))
    rbc = {"s": ref.s, **dict(zip(header["names"], values.tolist(), strict=True))}
    w.write_snapshot(
        header["step"],
        real,
        ids,
        rbc,
        ref,
        header["qm"],
        header["has_spin"],
        dict(zip(header["extra"], extra, strict=True)),
    )


__all__ = ["PACKED_FILE", "PackOutput", "internal_file", "materialize", "packed_files"]
