#!/usr/bin/env bash
# The test command (README and CI): set up, then run the whole suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lint.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
