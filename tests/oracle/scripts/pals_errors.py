"""What ``lattice.load_file`` raises for each (file, min_model) pair on the command line: errors.json, a list of
[exception type name, message] (or [None, number of elements] when the file loads)."""

import json
import sys

from impactx import ImpactX

sim = ImpactX()
sim.init_grids()
out = []
for path, min_model in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    sim.lattice.clear()
    try:
        sim.lattice.load_file(path, min_model=min_model)
        out.append([None, len(sim.lattice)])
    except Exception as e:  # noqa: BLE001 (the point is to record which)
        out.append([type(e).__name__, str(e)])
with open("errors.json", "w") as f:
    json.dump(out, f)
sim.finalize()
