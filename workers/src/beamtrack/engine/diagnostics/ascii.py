"""ImpactX's ASCII diagnostics files: reduced_beam_characteristics.0 and ref_particle.0 (and their _final).

What ImpactX 26.10 writes under ``diags/`` (measured with ``impactx-noacc`` 26.10, particle and envelope
tracking alike): ``reduced_beam_characteristics.0`` and ``ref_particle.0`` get the initial state (step 0,
period 0) and, with ``slice_step_diagnostics``, one row after every slice (the 0-based period it is in);
``reduced_beam_characteristics_final.0`` and ``ref_particle_final.0`` get one row at the end of the run
(the last step, the last period). The reduced files have a ``period`` column after ``step``; the
ref_particle files do not. The ``.0`` is the MPI rank. The names are ``beamtrack.spec.diag_files``' (re-exported
here): code that writes or reads these files imports them.

Layout of ImpactX's src/diagnostics/DiagnosticOutput.cpp: one header line of space-separated column
names, then one line per call, ``step`` as an integer and every other value in C++ ``std::scientific``
with ``max_digits10 - 1`` = 16 digits after the point (``%.16e``), so values round-trip exactly.
ImpactX's analysis scripts read them with ``pandas.read_csv(path, sep=r"\\s+")``.
ImpactX (as of 2026) prints mean_px/py/pt in the min/max columns of the momenta; these files hold the
actual minima and maxima.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from operator import attrgetter, itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from beamtrack.spec.diag_files import (
    LEGACY_SUFFIX,
    REDUCED_FILE,
    REDUCED_FINAL_FILE,
    REF_PARTICLE_FILE,
    REF_PARTICLE_FINAL_FILE,
    SUFFIX,
    diag_file,
)

from .eigenemittances import EIGEN_COLUMNS
from .reduced import REDUCED_COLUMNS, SPIN_COLUMNS

if TYPE_CHECKING:
    from ..refpart import RefPart

__all__ = [
    "LEGACY_SUFFIX",
    "REDUCED_FILE",
    "REDUCED_FINAL_FILE",
    "REF_PARTICLE_COLUMNS",
    "REF_PARTICLE_FILE",
    "REF_PARTICLE_FINAL_FILE",
    "SUFFIX",
    "ReducedDiagnosticsWriter",
    "RefParticleWriter",
    "diag_file",
    "row_period",
    "write_diagnostics_row",
]

#: Columns of ref_particle.0, ImpactX's order. Units: s, x, y, z, t [m]; the rest [1].
REF_PARTICLE_COLUMNS: tuple[str, ...] = (
    "step",
    "s",
    "beta",
    "gamma",
    "beta_gamma",
    "x",
    "y",
    "z",
    "t",
    "px",
    "py",
    "pz",
    "pt",
)


#: A table's rows wait in memory until this many are pending (a crash loses at most these) ...
FLUSH_ROWS = 256
#: ... or this many seconds passed since the last flush [s], whichever comes first.
FLUSH_SECONDS = 1.0


def _line_format(nints: int, nvalues: int) -> str:
    """The printf format of one row: ``nints`` integers, then ``nvalues`` values as ``%.16e``.

    ``%.16e`` is C++'s std::scientific at 16 digits, and prints non-finite values as nan / inf / -inf
    as C++ streams do (pandas parses them back)."""
    return " ".join(["%d"] * nints + ["%.16e"] * nvalues) + "\n"


class _AsciiTable:
    """A whitespace-separated table file, truncated and given its header on construction.

    Rows are buffered: written to the file every ``FLUSH_ROWS`` rows or ``FLUSH_SECONDS``, on ``flush``
    (``write_diagnostics_row`` flushes the run's tables with each end-of-track-call row) and on ``close``.
    """

    def __init__(self, path_dir: str | Path, file_name: str, columns: Sequence[str]):
        path_dir = Path(path_dir)
        path_dir.mkdir(parents=True, exist_ok=True)
        self.path = path_dir / file_name
        self.columns = tuple(columns)
        self._fh: TextIO | None = self.path.open("w", encoding="ascii")
        self._fh.write(" ".join(self.columns) + "\n")
        self._fh.flush()
        self._pending: list[str] = []
        self._flushed_at = time.monotonic()

    def _write_formatted(self, line: str) -> None:
        """Queue one formatted row (with its newline); write the queue out when it is due."""
        if self._fh is None:
            raise ValueError(f"{self.path} is closed")
        pending = self._pending
        pending.append(line)
        if len(pending) >= FLUSH_ROWS or time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows to the file and flush it (a reader then sees every row written so far)."""
        if self._fh is None:
            return
        if self._pending:
            self._fh.write("".join(self._pending))
            self._pending.clear()
        self._fh.flush()
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        if self._fh is not None:
            self.flush()
            self._fh.close()
            self._fh = None

    def __del__(self) -> None:
        # a table dropped without close (a run that raised, no finalize) keeps its pending rows, as the
        # file object itself would its buffer
        with contextlib.suppress(Exception):
            self.close()

    @property
    def closed(self) -> bool:
        return self._fh is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ReducedDiagnosticsWriter(_AsciiTable):
    """``<path_dir>/<name>.0``: header ``step period s mean_x min_x ... charge_C``, one row per ``write``.

    ``name`` is ``REDUCED_FILE`` (ImpactX's per-step file) or ``REDUCED_FINAL_FILE`` (its end-of-run
    file). ``period_column``: the integer ``period`` column after ``step`` (ImpactX 26.10; the row
    carries ``period``); off only for files in the pre-26.10 layout.
    ``spin_columns``: ``SPIN_COLUMNS`` before ``charge_C`` (ImpactX 26.10 with spin tracking).
    ``eigen_columns``: ``EIGEN_COLUMNS`` after ``emittance_tn`` (ImpactX with ``eigenemittances``).
    """

    def __init__(
        self,
        path_dir: str | Path,
        name: str = REDUCED_FILE,
        suffix: str = SUFFIX,
        period_column: bool = True,
        spin_columns: bool = False,
        eigen_columns: bool = False,
    ):
        head = ("step", "period", "s") if period_column else ("step", "s")
        self._nint = 2 if period_column else 1
        # ImpactX's order: ... emittance_tn, [emittance_1..3], [spin moments], charge_C
        cols = (
            *REDUCED_COLUMNS[:-1],
            *(EIGEN_COLUMNS if eigen_columns else ()),
            *(SPIN_COLUMNS if spin_columns else ()),
            REDUCED_COLUMNS[-1],
        )
        super().__init__(path_dir, f"{name}{suffix}", (*head, *cols))
        self._row_values = itemgetter(*self.columns[1:])
        self._format = _line_format(self._nint, len(self.columns) - self._nint)

    def write(self, step: int, row: Mapping[str, float]) -> None:
        """Append one row: what ``reduced_beam_characteristics`` returns, with ``s`` [m] and ``period``."""
        try:
            values = self._row_values(row)
        except KeyError:
            missing = [c for c in self.columns[1:] if c not in row]
            raise KeyError(f"reduced diagnostics row lacks {', '.join(missing)}") from None
        self._write_formatted(self._format % (step, *values))


class RefParticleWriter(_AsciiTable):
    """``<path_dir>/<name>.0``: header ``step s beta gamma beta_gamma x y z t px py pz pt`` (no period).

    ``name`` is ``REF_PARTICLE_FILE`` or ``REF_PARTICLE_FINAL_FILE`` as in ImpactX.
    """

    def __init__(self, path_dir: str | Path, name: str = REF_PARTICLE_FILE, suffix: str = SUFFIX):
        super().__init__(path_dir, f"{name}{suffix}", REF_PARTICLE_COLUMNS)
        self._ref_values = attrgetter(*self.columns[1:])
        self._format = _line_format(1, len(self.columns) - 1)

    def write(self, step: int, ref: RefPart) -> None:
        """Append the reference particle's state at ``step``."""
        self._write_formatted(self._format % (step, *self._ref_values(ref)))


def write_diagnostics_row(
    writers: dict[str, Any],
    path_dir: str | Path,
    step: int,
    row: Mapping[str, float],
    ref: RefPart,
    *,
    final: bool = False,
    reduced_writer: type[ReducedDiagnosticsWriter] = ReducedDiagnosticsWriter,
    ref_writer: type[RefParticleWriter] = RefParticleWriter,
    spin_columns: bool = False,
    eigen_columns: bool = False,
) -> None:
    """Append ``row`` and ``ref`` at ``step`` to the run's per-step files (``final``: its _final files),
    opening them in ``writers`` (keys ``reduced``, ``ref``, ``reduced_final``, ``ref_final``) on first use with
    ``spin_columns`` / ``eigen_columns`` as ``ReducedDiagnosticsWriter``'s."""
    tail = "_final" if final else ""
    if f"reduced{tail}" not in writers:
        writers[f"reduced{tail}"] = reduced_writer(
            path_dir,
            REDUCED_FINAL_FILE if final else REDUCED_FILE,
            spin_columns=spin_columns,
            eigen_columns=eigen_columns,
        )
        writers[f"ref{tail}"] = ref_writer(path_dir, REF_PARTICLE_FINAL_FILE if final else REF_PARTICLE_FILE)
    writers[f"reduced{tail}"].write(step, row)
    writers[f"ref{tail}"].write(step, ref)
    if final:
        # the end of a track call: every table of the run on disk for whoever reads them next
        for w in writers.values():
            if isinstance(w, _AsciiTable):
                w.flush()


def row_period(tracking_period: int, final: bool) -> int:
    """ImpactX 26.10's ``period`` of a row: the 0-based period the step is in; a final row (written after
    the period counter moved past the last period) gets the last period."""
    return max(tracking_period - 1, 0) if final else tracking_period
