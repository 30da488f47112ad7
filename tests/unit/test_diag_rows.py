"""Compact diagnostics rows (``beamtrack.workers.diag_rows``): exact values, the JSON row's
conventions (int step and period, None for non-finite values), and bad entries refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.workers.diag_rows import columns_id, decode_row, decode_rows, encode_block, encode_rows
from beamtrack.workers.runner import _clean_row

pytestmark = pytest.mark.unit


def test_rows_round_trip_bit_for_bit_as_clean_rows() -> None:
    """Random floats (every bit pattern of the mantissa), NaN, infinities and -0.0 come back as
    ``_clean_row`` writes the same row as JSON: the float bits exactly, None for non-finite,
    step and period as ints."""
    rng = np.random.default_rng(7)
    columns = ["step", "period", "s", "mean_x", "sigma_x", "alpha_t"]
    table = rng.normal(size=(50, len(columns))) * 10.0 ** rng.integers(-300, 300, size=(50, len(columns)))
    table[:, 0], table[:, 1] = np.arange(50), 1
    table[3, 3], table[4, 4], table[5, 5], table[6, 3] = np.nan, np.inf, -np.inf, -0.0
    for r, value in zip(table, encode_rows(table), strict=True):
        got = decode_row(columns, value)
        want = _clean_row(dict(zip(columns, r.tolist(), strict=True)))
        assert got == want and list(got) == columns
        assert type(got["step"]) is int and type(got["period"]) is int
        for c in columns[2:]:
            if got[c] is not None:
                assert np.float64(got[c]).tobytes() == np.float64(want[c]).tobytes()
    assert math.copysign(1.0, decode_row(columns, encode_rows(table[6:7])[0])["mean_x"]) == -1.0
    # the same rows as blocks of several rows an entry (a pack's entries), in order
    blocks = [decode_rows(columns, encode_block(table[a:b])) for a, b in ((0, 1), (1, 17), (17, 50))]
    assert [len(b) for b in blocks] == [1, 16, 33]
    assert sum(blocks, []) == [decode_row(columns, v) for v in encode_rows(table)]


def test_bad_entries_are_refused_with_the_reason() -> None:
    columns = ["step", "s"]
    good = encode_rows(np.array([[1.0, 0.5]]))[0]
    with pytest.raises(ValueError, match="16 bytes for 3 columns"):
        decode_row([*columns, "x"], good)
    with pytest.raises(ValueError, match="not base64"):
        decode_row(columns, b"not base64!")
    with pytest.raises(ValueError, match="rows x columns"):
        encode_rows(np.zeros(3))
    two = encode_block(np.array([[1.0, 0.5], [2.0, 0.7]]))
    assert decode_rows(columns, two) == [{"step": 1, "s": 0.5}, {"step": 2, "s": 0.7}]
    with pytest.raises(ValueError, match="2 rows in one value"):
        decode_row(columns, two)  # where one row is meant
    with pytest.raises(ValueError, match="32 bytes for 3 columns"):
        decode_rows([*columns, "x"], two)  # not a whole number of rows
    with pytest.raises(ValueError, match="0 bytes"):
        decode_rows(columns, b"")
    with pytest.raises(ValueError, match="one or more rows"):
        encode_block(np.zeros((0, 2)))


def test_columns_id_is_the_names_content() -> None:
    assert columns_id(["step", "s"]) == columns_id(("step", "s"))
    assert columns_id(["step", "s"]) != columns_id(["s", "step"])
