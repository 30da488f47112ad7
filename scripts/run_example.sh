#!/usr/bin/env bash
# The main job: set up, then run the example FODO simulation and show where its output is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/beamtrack run examples/fodo.json --out out/fodo
echo "openPMD output: out/fodo/diags/openPMD/monitor.h5; reduced diagnostics: out/fodo/diags/reduced_beam_characteristics.0.0"
