"""Diagnostics rows as compact stream entries: the values of a row as float64 bytes (base64).

A job's diagnostics row is a flat record (``step``, ``period``, ``s``, then ImpactX's reduced beam
characteristics). As JSON each row repeats its ~50 column names and writes every value in
decimal, ~1.4 kB a row; a pack of 256 variants publishes 34,000 rows in a few seconds, and
building, encoding, sending and storing that JSON cost the pack more than its tracking. So a
packed run publishes a row as its values only: ``encode_rows`` turns a table of rows into one
base64 string per row (``8 * ncolumns`` bytes before base64: ~570 bytes for the reduced columns),
with the column names stored once under their content hash (``columns_id``), and every reader
gets the row back as the same record (``decode_row``): int ``step`` and ``period``, floats, None
for NaN and infinities (as ``runner._clean_row`` writes a JSON row). Exact: the floats are the
bytes the run computed.

The JobStore writes and reads these entries (``k`` = ``diag``, ``c`` = the columns id, ``b`` =
the values); a JSON row (``d``) and a compact row read the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

#: The row columns that are counts, read back as int (the others are floats or None).
INT_COLUMNS = ("step", "period")


def columns_id(columns: Sequence[str]) -> str:
    """The content id of a row's column names (the key they are stored under)."""
    return hashlib.sha256("\n".join(columns).encode()).hexdigest()[:24]


def encode_rows(table: np.ndarray) -> list[bytes]:
    """One compact entry value per row of ``table`` (rows x columns, float64 in the columns' order)."""
    rows = np.ascontiguousarray(table, dtype="<f8")
    if rows.ndim != 2:
        raise ValueError(f"encode_rows: a table of rows x columns, not shape {rows.shape}")
    raw = rows.tobytes()
    width = rows.shape[1] * 8
    return [base64.b64encode(raw[i : i + width]) for i in range(0, len(raw), width)]


def decode_row(columns: Sequence[str], value: str | bytes) -> dict[str, Any]:
    """The row of one compact entry value: ``{column: value}`` in the columns' order."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"diagnostics row: not base64 ({exc})") from None
    if len(raw) != 8 * len(columns):
        raise ValueError(f"diagnostics row: {len(raw)} bytes for {len(columns)} columns")
    row: dict[str, Any] = {}
    for name, v in zip(columns, struct.unpack(f"<{len(columns)}d", raw), strict=True):
        if name in INT_COLUMNS and math.isfinite(v):
            row[name] = int(v)
        else:
            row[name] = v if math.isfinite(v) else None
    return row


__all__ = ["INT_COLUMNS", "columns_id", "decode_row", "encode_rows"]
