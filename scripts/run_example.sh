#!/usr/bin/env bash
# The main job: set up, then run the example FODO simulation through the embedded service
# (private Redis, local Ray, CPU kernels, REST + gRPC on 127.0.0.1): start it, submit
# examples/fodo.json, stream its diagnostics to the terminal, fetch the openPMD output, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
bash scripts/service_example.sh examples/fodo.json out/service_example
echo "openPMD output: out/service_example/diags/openPMD/monitor.h5"
