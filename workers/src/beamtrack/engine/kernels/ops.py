"""The element-slice record passed to the C kernels (mirror of ``bt_op`` in bt_common.h)."""

from __future__ import annotations

import numpy as np

NPARAM = 16
NCOEF = 40
MISALIGNED = 1
APERTURE = 2

OP_DTYPE = np.dtype(
    [
        ("kind", np.int32),
        ("nslice", np.int32),
        ("flags", np.int32),
        ("index", np.int32),
        ("aux_offset", np.int64),
        ("aux_len", np.int64),
        ("ds", np.float64),
        ("s_exit", np.float64),
        ("dx", np.float64),
        ("dy", np.float64),
        ("cos_rot", np.float64),
        ("sin_rot", np.float64),
        ("aperture_x", np.float64),
        ("aperture_y", np.float64),
        ("beta", np.float64),
        ("gamma", np.float64),
        ("beta_gamma", np.float64),
        ("pt_ref", np.float64),
        ("p", np.float64, (NPARAM,)),
        ("c", np.float64, (NCOEF,)),
    ],
    align=True,
)


def empty_ops(n: int) -> np.ndarray:
    """n ops that do nothing yet: one slice, no rotation."""
    ops = np.zeros(n, dtype=OP_DTYPE)
    ops["nslice"] = 1
    ops["cos_rot"] = 1.0
    return ops
