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
the values); a JSON row (``d``) and a compact row read the same. One compact entry may hold
several rows of a job (``encode_block``: their values one after the other, a pack's rows of a
variant since its last flush): storing a row in Redis cost a pack more than tracking it, so a pack
stores a few entries a variant instead of one a step. Readers get each row as its own event
(``JobStore`` gives them ids inside the entry: ``stream_ids``).
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


def encode_block(table: np.ndarray) -> bytes:
    """One compact entry value holding every row of ``table`` (rows x columns, float64 in the
    columns' order), read back by ``decode_rows``."""
    rows = np.ascontiguousarray(table, dtype="<f8")
    if rows.ndim != 2 or not rows.shape[0]:
        raise ValueError(f"encode_block: a table of one or more rows x columns, not shape {rows.shape}")
    return base64.b64encode(rows.tobytes())


def decode_row(columns: Sequence[str], value: str | bytes) -> dict[str, Any]:
    """The row of a compact entry value of one row: ``{column: value}`` in the columns' order."""
    rows = decode_rows(columns, value)
    if len(rows) != 1:
        raise ValueError(f"diagnostics row: {len(rows)} rows in one value")
    return rows[0]


def decode_rows(columns: Sequence[str], value: str | bytes) -> list[dict[str, Any]]:
    """The rows of one compact entry value (one or more, ``encode_rows`` / ``encode_block``):
    ``{column: value}`` each, in the columns' order."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"diagnostics row: not base64 ({exc})") from None
    width = 8 * len(columns)
    if not width or not raw or len(raw) % width:
        raise ValueError(f"diagnostics row: {len(raw)} bytes for {len(columns)} columns")
    ints = [name in INT_COLUMNS for name in columns]
    out: list[dict[str, Any]] = []
    for values in struct.iter_unpack(f"<{len(columns)}d", raw):
        row: dict[str, Any] = {}
        for name, is_int, v in zip(columns, ints, values, strict=True):
            if not math.isfinite(v):
                row[name] = None
            else:
                row[name] = int(v) if is_int else v
        out.append(row)
    return out


__all__ = ["INT_COLUMNS", "columns_id", "decode_row", "decode_rows", "encode_block", "encode_rows"]
