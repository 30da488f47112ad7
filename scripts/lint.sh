#!/usr/bin/env bash
# The static gates (make lint, scripts/test.sh, CI), over the same folders everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=(proto workers server client tests bench)
.venv/bin/ruff check "${folders[@]}"
# server, client and plot: every module, strict; spec, engine, workers, impactx: every module
.venv/bin/mypy --strict --explicit-package-bases server/src/beamtrack/server client/src/beamtrack/client client/src/beamtrack/plot
MYPYPATH=proto/src:workers/src .venv/bin/mypy --explicit-package-bases proto/src/beamtrack/spec \
  workers/src/beamtrack/engine workers/src/beamtrack/workers workers/src/beamtrack/impactx
# the dependency rule (pyproject [tool.importlinter])
.venv/bin/lint-imports --no-cache
# the formatter (pyproject [tool.ruff.format]); `make format` applies it
.venv/bin/ruff format --check "${folders[@]}"
