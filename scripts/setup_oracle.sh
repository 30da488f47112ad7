#!/usr/bin/env bash
# The test oracle: the real ImpactX 26.10 (PyPI impactx-noacc, CPU) in its own venv .venv-impactx, because it
# pins its own numpy and pydantic. openpmd-api, scipy and pandas let ImpactX's example analysis scripts run.
# Idempotent: reinstalled only when this script changed since the last run (stamp file).
# Tests that need it skip, naming this script, when .venv-impactx is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
venv=.venv-impactx
stamp=$venv/.beamtrack-oracle
if [ ! -x $venv/bin/python ]; then
  "$PY" -m venv $venv
fi
if [ ! -f "$stamp" ] || [ scripts/setup_oracle.sh -nt "$stamp" ]; then
  $venv/bin/python -m pip install -q --upgrade pip
  $venv/bin/python -m pip install -q "impactx-noacc==26.10" openpmd-api scipy pandas
  $venv/bin/python -c "import impactx; assert impactx.__version__.startswith('26.10'), impactx.__version__"
  touch "$stamp"
fi
echo "setup_oracle: done ($venv: ImpactX $($venv/bin/python -c 'import impactx; print(impactx.__version__)'))"
