"""Shared by the scripts here: write the final beam as the oracle test reads it, from either code.

``final.npz``: ``coords`` (6 x N: x, y, t, px, py, pt of the alive particles, ordered by particle id),
``ids`` (from ``to_df``'s ``idcpu``, AMReX's packing: id in bits 24..62) and ``ref`` (s, x, y, z, t, px, py,
pz, pt of the reference particle); ``moments.json``: ``beam_moments()`` and the number of alive particles.
"""

import json

import numpy as np

COLUMNS = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")
REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")


def write(sim):
    df = sim.beam.to_df(local=True)
    if df is None:
        ids, coords = np.zeros(0, dtype=np.int64), np.zeros((6, 0))
    else:
        ids = ((df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24)) & np.uint64((1 << 39) - 1)).astype(np.int64)
        order = np.argsort(ids)
        ids = ids[order]
        coords = np.stack([df[c].to_numpy()[order] for c in COLUMNS])
    ref = sim.beam.ref
    np.savez("final.npz", ids=ids, coords=coords, ref=np.array([getattr(ref, k) for k in REF_KEYS]))
    moments = {k: float(v) for k, v in sim.beam.beam_moments().items()}
    with open("moments.json", "w") as f:
        json.dump({"n": int(sim.beam.total_number_of_particles()), "moments": moments}, f)
