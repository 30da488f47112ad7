"""BeamMonitor output: an openPMD series per monitor name, laid out as ImpactX's BeamMonitor writes it.

Facts from ImpactX (src/elements/diagnostics/BeamMonitor.cpp, openPMD.cpp, docs "dataanalysis"):

- series ``<diags>/openPMD/<name>.<ext>`` (file-based encoding: ``<name>_%06T.<ext>``); one series
  per full path, shared by every BeamMonitor of that name; a ``paraview.pmd`` helper file beside it
  names the series. Backend ``default`` takes the first available of ADIOS2 (``bp4``), HDF5 (``h5``),
  JSON (``json``), so it is ``bp4`` where openpmd-api has ADIOS2. Group-based encoding with ``bp`` or
  ``bp5`` is refused, as in ImpactX.
- iteration = the global step, its ``time`` = s of the reference particle [m]; species ``beam``.
- records ``position/{x,y,t}`` [m], ``momentum/{x,y,t}`` [1], ``qm`` [C/kg], ``weighting`` [1] as float64
  arrays and ``id`` as uint64, one entry per alive particle, relative to the reference particle;
  ``positionOffset/{x,y,t}`` constant records = the reference particle's x, y, t [m]. ImpactX sets no
  unitDimension or unitSI, so these keep openpmd-api's defaults here too. ImpactX's spin records
  (spin/{x,y,z}) are not written: this engine does not track spin.
- species attributes: beta_ref, gamma_ref, beta_gamma_ref [1], s_ref, x_ref, y_ref, z_ref, t_ref [m],
  px_ref, py_ref, pz_ref [1], pt_ref = -gamma [1], mass_ref [kg], charge_ref [C], then every reduced
  beam characteristic (current names and ImpactX's deprecated aliases, e.g. sigma_x and sig_x).
- each write closes its iteration. ImpactX counts one step per slice of every element, thin ones
  included, so two monitors never share a step; a second write of a step already in the series is
  skipped with a ``BeamMonitorWarning`` (a closed openPMD iteration cannot be rewritten).

Two limits of openpmd-api 0.17 met here, where ImpactX would write unreadable files: an ADIOS2
group-based iteration without particles makes the whole series crash its readers, so an empty beam is
skipped (with a ``BeamMonitorWarning``) on ``bp*`` group-based series; the JSON backend stores NaN
attributes as ``null`` that it cannot read back, so non-finite reduced characteristics (e.g. of an
empty beam) are left out of JSON series. HDF5 holds both.
"""

from __future__ import annotations

import atexit
import math
import queue
import threading
import warnings
import weakref
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import openpmd_api as io

from .reduced import DEPRECATED_ALIASES, reduced_beam_characteristics

if TYPE_CHECKING:
    from ..particles import ParticleContainer
    from ..refpart import RefPart

#: Backends accepted, besides ``default``; each is also the file extension.
BACKENDS = ("h5", "bp", "bp4", "bp5", "json")
_ENCODINGS = {
    "g": io.Iteration_Encoding.group_based,
    "f": io.Iteration_Encoding.file_based,
    "v": io.Iteration_Encoding.variable_based,
}
_FLOAT64 = np.dtype(np.float64)
#: ImpactX's BeamMonitor digits of the iteration number in file-based series names.
FILE_MIN_DIGITS = 6


class BeamMonitorWarning(UserWarning):
    """A BeamMonitor write was skipped: a step already in the series, or an empty beam where the
    backend cannot store one."""


#: openpmd-api (and HDF5 beneath it) is not thread-safe: every call into it, from the tracking
#: thread or a writer thread, of any series, holds this lock. Two series written at once from two
#: threads crashed the process (SIGSEGV in a packed run with several monitors).
IO_LOCK = threading.RLock()
#: Writers not yet closed: closed at interpreter exit, so a script that raised before finalize() still
#: gets complete series and does not abort in openpmd-api's destructors (its writer thread still running).
_OPEN_WRITERS: weakref.WeakSet[BeamMonitorWriter] = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    for writer in list(_OPEN_WRITERS):
        try:
            writer.close()
        except Exception:  # noqa: BLE001, S110 - at exit there is nobody left to tell
            pass


def resolve_backend(backend: str) -> str:
    """The file extension for ``backend``; ``default`` is chosen as ImpactX does (ADIOS2, HDF5, JSON)."""
    if backend == "default":
        if io.variants.get("adios2"):
            return "bp4"
        return "h5" if io.variants.get("hdf5") else "json"
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of default, {', '.join(BACKENDS)}")
    return backend


def series_path(out_dir: str | Path, name: str, file_name: str) -> Path:
    """``out_dir / file_name``, refused unless it names a file directly inside ``out_dir``.

    A monitor's name is a file name: a path separator, ``..``, a NUL, a leading dot or a symlink
    that leads out of ``out_dir`` would let a job spec write anywhere the process can. The spec's
    name pattern refuses such names first; this check holds for every caller of the writer.
    """
    if (
        not name
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
        or any(ord(c) < 32 for c in name)
    ):
        raise ValueError(f"BeamMonitor name {name!r} is not a plain file name (letters, digits, _ . + -)")
    out = Path(out_dir).resolve()
    path = (out / file_name).resolve()
    if path.parent != out:
        raise ValueError(f"BeamMonitor {name!r}: output path {path} is outside {out}")
    return path


def _software_version() -> str:
    try:
        return metadata.version("beamtrack-engine")
    except metadata.PackageNotFoundError:
        return "unknown"


_IDCPU_VALID = np.uint64(1 << 63)
_IDCPU_SHIFT = np.uint64(24)
_ID_MASK = np.uint64((1 << 39) - 1)


def pack_idcpu(ids: Any, xp: Any = np) -> Any:
    """Particle ids as AMReX's idcpu (AMReX_Particle.H): bit 63 = valid, bits 24..62 = id, bits 0..23 = cpu (0).
    ``xp``: the array module of ``ids`` (NumPy, or CuPy for a beam on the GPU)."""
    return (xp.asarray(ids).astype(xp.uint64) << xp.uint64(_IDCPU_SHIFT)) | xp.uint64(_IDCPU_VALID)


def alive_rows(pc: ParticleContainer, packed_ids: bool) -> tuple[np.ndarray, np.ndarray]:
    """The alive particles of ``pc`` as a BeamMonitor iteration stores them, copied to the host: their rows
    (float64, C order) and ids (uint64; AMReX's packed idcpu when ``packed_ids``)."""
    n = pc.size
    alive = pc.state[:n] == 0
    if bool(alive.all()):
        real, ids = pc.real[:, :n], pc.id[:n]
    else:
        real, ids = pc.real[:, alive], pc.id[alive]
    real = np.array(pc.host(real), dtype=np.float64, order="C")
    ids = np.array(pc.host(ids), dtype=np.uint64)
    return real, (pack_idcpu(ids) if packed_ids else ids)


def unpack_ids(raw: np.ndarray) -> np.ndarray:
    """Particle ids from an ``id`` record: AMReX's packed idcpu (ImpactX's files) when its valid bit is set, else
    the plain id (beamtrack's engine files)."""
    raw = np.asarray(raw, dtype=np.uint64)
    packed = (raw & _IDCPU_VALID) != 0
    return np.where(packed, (raw >> _IDCPU_SHIFT) & _ID_MASK, raw).astype(np.int64)


class BeamMonitorWriter:
    """One openPMD series ``<out_dir>/<name>.<ext>`` of beam snapshots (ImpactX's BeamMonitor layout).

    ``out_dir`` is the openPMD folder (``DIR/diags/openPMD`` for ``beamtrack run``); ``backend`` is
    ``default``, ``h5``, ``bp``, ``bp4``, ``bp5`` or ``json``; ``encoding`` is ``g`` (group-based, one
    file), ``f`` (file-based, one file per iteration) or ``v`` (variable-based, ADIOS2 steps).
    Several BeamMonitor elements of one name share one series: get it with ``BeamMonitorWriter.open``
    and close them all with ``BeamMonitorWriter.close_all()``.
    """

    #: snapshots queued for the writer thread before ``write`` waits
    MAX_PENDING: ClassVar[int] = 2
    _shared: ClassVar[dict[str, BeamMonitorWriter]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, out_dir: str | Path, name: str, backend: str = "default", encoding: str = "g", packed_ids: bool = False
    ):
        self.name = name
        #: write ``id`` as ImpactX 26.10 does: AMReX's packed idcpu (bit 63 valid, id in bits 24..62, cpu 0)
        self.packed_ids = packed_ids
        self.backend = resolve_backend(backend)
        if encoding not in _ENCODINGS:
            raise ValueError(f"encoding: {encoding!r} is not one of g, f, v")
        self.encoding = encoding
        if self.backend in ("bp", "bp5") and encoding == "g":
            raise ValueError(
                f"encoding: group-based ('g') is not supported with backend {self.backend!r}; use 'f' or 'v'"
            )
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        file_name = name + (f"_%0{FILE_MIN_DIGITS}T" if encoding == "f" else "") + "." + self.backend
        self.path = series_path(out, name, file_name)
        out = self.path.parent
        with IO_LOCK:
            self._series: io.Series | None = io.Series(str(self.path), io.Access.create)
            self._series.set_software("beamtrack", _software_version())
            self._series.set_iteration_encoding(_ENCODINGS[encoding])
        # ParaView 5.9+ opens an openPMD series through this helper file, as ImpactX writes it
        (out / "paraview.pmd").write_text(file_name + "\n")
        self._steps: set[int] = set()
        self._lock = threading.Lock()
        # iterations are stored by one background thread (openpmd-api's flush releases the GIL, so the
        # tracking goes on meanwhile); at most MAX_PENDING snapshots wait, so a slow disk throttles the
        # tracking instead of filling memory
        self._pending: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=self.MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        _OPEN_WRITERS.add(self)

    # --- shared series per path -----------------------------------------------------------------
    @staticmethod
    def _key(out_dir: str | Path, name: str, backend: str, encoding: str) -> str:
        ext = resolve_backend(backend)
        suffix = f"_%0{FILE_MIN_DIGITS}T" if encoding == "f" else ""
        return str(series_path(out_dir, name, f"{name}{suffix}.{ext}"))

    @classmethod
    def open(
        cls, out_dir: str | Path, name: str, backend: str = "default", encoding: str = "g", packed_ids: bool = False
    ) -> BeamMonitorWriter:
        """The writer shared by every BeamMonitor writing to the same series path (created on first use)."""
        key = cls._key(out_dir, name, backend, encoding)
        with cls._shared_lock:
            writer = cls._shared.get(key)
            if writer is None or writer.closed:
                writer = cls(out_dir, name, backend, encoding, packed_ids)
                cls._shared[key] = writer
            return writer

    @classmethod
    def close_all(cls) -> None:
        """Close every shared series opened with ``open`` (call once at the end of tracking)."""
        with cls._shared_lock:
            writers = list(cls._shared.values())
            cls._shared.clear()
        for w in writers:
            w.close()

    # --- writing --------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._series is None

    @property
    def steps(self) -> list[int]:
        """Iterations written so far, ascending."""
        return sorted(self._steps)

    def write(
        self,
        step: int,
        pc: ParticleContainer,
        ref: RefPart,
        extra: dict[str, Any] | None = None,
        eigenemittances: bool = False,
    ) -> None:
        """Write the alive particles and the reference particle as iteration ``step``.

        ``extra``: additional per-particle scalar records (e.g. ``s_lost`` [m] of lost particles), one
        value per alive particle. ``eigenemittances``: the beam attributes include emittance_1..3 (ImpactX's
        ``sim.eigenemittances``). The alive particles are copied to the host here; a background thread
        stores them and closes the iteration (``flush`` waits for it, ``close`` flushes). An error of
        that thread is raised by the next ``write``, ``flush`` or ``close``.
        """
        step = int(step)
        self._raise_pending_error()
        with self._lock:
            if not self._accepts(step, pc.total_number_of_particles):
                return
            self._enqueue(self._snapshot(step, pc, ref, extra or {}, eigenemittances))

    def write_snapshot(
        self,
        step: int,
        real: np.ndarray,
        ids: np.ndarray,
        rbc: dict[str, float],
        ref: Any,
        qm: float,
        has_spin: bool,
        extra: dict[str, np.ndarray],
    ) -> None:
        """Write iteration ``step`` from values already taken off a beam, as ``write`` takes them
        (``_snapshot``): ``real`` the alive particles' rows (float64), ``ids`` as the ``id`` record
        stores them (uint64, packed when ``packed_ids``), ``rbc`` the reduced characteristics,
        ``ref`` anything with the reference particle's attributes. A packed run records its
        variants' monitors so (``beamtrack.engine.packed_output``) and writes them later; the same
        checks as ``write`` apply, the iteration is the same."""
        step = int(step)
        self._raise_pending_error()
        with self._lock:
            if not self._accepts(step, lambda: int(ids.size)):
                return
            self._enqueue((step, real, ids, rbc, ref, qm, has_spin, extra))

    def _accepts(self, step: int, n_alive: Any) -> bool:
        """Whether iteration ``step`` is written (``n_alive()``: the particles it would hold); a
        skipped write warns (held with ``_lock``)."""
        if self._series is None:
            raise ValueError(f"openPMD series {self.path} is closed")
        if step in self._steps:
            warnings.warn(
                f"BeamMonitor {self.name!r}: step {step} is already in {self.path.name}; this write is skipped "
                "(count one step per slice of every element, as ImpactX does, to give each monitor its own step)",
                BeamMonitorWarning,
                stacklevel=3,
            )
            return False
        if self.backend.startswith("bp") and self.encoding == "g" and n_alive() == 0:
            warnings.warn(
                f"BeamMonitor {self.name!r}: no particles alive at step {step}; not written, because an empty "
                "iteration in a group-based ADIOS2 series makes openpmd-api readers crash",
                BeamMonitorWarning,
                stacklevel=3,
            )
            return False
        return True

    def _enqueue(self, snapshot: tuple[Any, ...]) -> None:
        """Hand ``snapshot`` (``_write_iteration``'s arguments after the series) to the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"openPMD {self.path.name}", daemon=True)
            self._thread.start()
        self._steps.add(int(snapshot[0]))
        self._pending.put((self._series, *snapshot))

    def _snapshot(
        self, step: int, pc: ParticleContainer, ref: RefPart, extra: dict[str, Any], eigenemittances: bool
    ) -> tuple[Any, ...]:
        """Everything an iteration holds, copied off the beam (which the tracking goes on changing)."""
        real, ids = alive_rows(pc, self.packed_ids)
        rbc = reduced_beam_characteristics(pc, ref, eigenemittances=eigenemittances)
        n_alive = int(ids.size)
        host_extra: dict[str, np.ndarray] = {}
        for name, values in extra.items():
            values = np.array(pc.host(values), dtype=np.float64)
            if values.size != n_alive:
                raise ValueError(f"extra record {name!r} has {values.size} values for {n_alive} particles")
            host_extra[name] = values
        return step, real, ids, rbc, ref.copy(), pc.qm, pc.has_spin, host_extra

    def _run(self) -> None:
        while True:
            job = self._pending.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    with IO_LOCK:
                        self._write_iteration(*job)
            except BaseException as exc:  # raised in the tracking thread by the next write/flush/close
                self._error = exc
            finally:
                self._pending.task_done()

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise RuntimeError(f"writing openPMD series {self.path} failed: {exc}") from exc

    def flush(self) -> None:
        """Wait until every queued iteration is stored (and raise the error of a failed one)."""
        self._pending.join()
        self._raise_pending_error()

    def _write_iteration(
        self,
        series: io.Series,
        step: int,
        real: np.ndarray,
        ids: np.ndarray,
        rbc: dict[str, float],
        ref: Any,
        qm: float,
        has_spin: bool,
        extra: dict[str, np.ndarray],
    ) -> None:
        n_alive = int(ids.size)

        it = series.write_iterations()[step]
        it.set_time(float(ref.s))
        beam = it.particles["beam"]
        attrs: dict[str, float] = {
            "beta_ref": ref.beta,
            "gamma_ref": ref.gamma,
            "beta_gamma_ref": ref.beta_gamma,
            "s_ref": ref.s,
            "x_ref": ref.x,
            "y_ref": ref.y,
            "z_ref": ref.z,
            "t_ref": ref.t,
            "px_ref": ref.px,
            "py_ref": ref.py,
            "pz_ref": ref.pz,
            "pt_ref": ref.pt,
            "mass_ref": ref.mass,
            "charge_ref": ref.charge,
            "gyromagnetic_anomaly_ref": ref.gyromagnetic_anomaly,
        }
        attrs.update((k, v) for k, v in rbc.items() if k != "s")
        attrs.update((old, rbc[new]) for old, new in DEPRECATED_ALIASES.items())
        # with the dtype given, openpmd-api's binding skips its overload resolution (18 -> 6 us an
        # attribute); it stores the same DOUBLE scalar, the files are byte-identical
        for k, v in attrs.items():
            if self.backend != "json" or math.isfinite(v):
                beam.set_attribute(k, float(v), _FLOAT64)

        d_fl = io.Dataset(np.dtype(np.float64), [n_alive])
        for comp, value in zip("xyt", (ref.x, ref.y, ref.t), strict=True):
            rc = beam["positionOffset"][comp]
            rc.reset_dataset(d_fl)
            rc.make_constant(float(value))

        scalar = io.Record_Component.SCALAR
        columns: list[tuple[Any, np.ndarray]] = [
            (beam["position"]["x"], real[0]),
            (beam["position"]["y"], real[1]),
            (beam["position"]["t"], real[2]),
            (beam["momentum"]["x"], real[3]),
            (beam["momentum"]["y"], real[4]),
            (beam["momentum"]["t"], real[5]),
            (beam["qm"][scalar], np.full(n_alive, qm, dtype=np.float64)),
            (beam["weighting"][scalar], real[6]),
        ]
        if has_spin:  # ImpactX 26.10's spin record: components x, y, z, dimensionless
            columns += [(beam["spin"][c], real[7 + i]) for i, c in enumerate("xyz")]
        for name, values in extra.items():
            columns.append((beam[name][scalar], values))
        for rc, _ in columns:
            rc.reset_dataset(d_fl)
        id_rc = beam["id"][scalar]
        id_rc.reset_dataset(io.Dataset(np.dtype(np.uint64), [n_alive]))
        # openPMD-api refuses zero-sized chunks (openPMD-api issue 1147): an empty beam has extents only
        if n_alive:
            for rc, data in columns:
                rc.store_chunk(np.ascontiguousarray(data), [0], [n_alive])
            id_rc.store_chunk(ids, [0], [n_alive])
        series.flush()
        it.close()

    def close(self) -> None:
        """Store the queued iterations, then close the series (idempotent); raises the error of a failed
        iteration after closing."""
        with self._lock:
            if self._thread is not None:
                self._pending.put(None)
                self._thread.join()
                self._thread = None
            if self._series is not None:
                with IO_LOCK:
                    self._series.close()
                self._series = None
        self._raise_pending_error()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
