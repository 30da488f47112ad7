#!/usr/bin/env bash
# The test command (README and CI): set up, then run the whole suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check proto workers server client tests bench
.venv/bin/mypy --explicit-package-bases server/src/beamtrack/server client/src/beamtrack/client
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
