#!/usr/bin/env bash
# The service end to end on this machine: start the embedded service (private Redis, local Ray,
# REST + gRPC on 127.0.0.1), submit examples/fodo.json, stream its diagnostics to the terminal,
# fetch the openPMD output, stop everything.
#   usage: scripts/service_example.sh [SPEC.json] [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BEAMTRACK_BIN:-$root/.venv/bin}"
spec="${1:-$root/examples/fodo.json}"
out="${2:-$root/out/service_example}"
data="$(mktemp -d -t beamtrack-service.XXXXXX)"
free_port() { "$bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"; grpc_port="$(free_port)"
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0

"$bin/beamtrack" serve --data-dir "$data" --http-port "$http_port" --grpc-port "$grpc_port" \
  --num-cpus 2 > "$data/serve.log" 2>&1 &
server_pid=$!
cleanup() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid"; wait "$server_pid" || true
    echo "== service stopped"
  fi
  rm -rf "$data"
}
trap cleanup EXIT

export BEAMTRACK_URL="http://127.0.0.1:$http_port"
for _ in $(seq 1 300); do
  if [ -s "$data/token" ] && "$bin/python" - <<PY 2>/dev/null; then break; fi
import httpx, sys; sys.exit(0 if httpx.get("$BEAMTRACK_URL/readyz").status_code == 200 else 1)
PY
  kill -0 "$server_pid" 2>/dev/null || { cat "$data/serve.log"; exit 1; }
  sleep 0.2
done
export BEAMTRACK_TOKEN="$(cat "$data/token")"
echo "== service ready at $BEAMTRACK_URL (gRPC 127.0.0.1:$grpc_port)"

echo "== submit $spec and stream its diagnostics (gRPC)"
job_id="$("$bin/beamtrack-client" submit "$spec")"
echo "job $job_id"
"$bin/beamtrack-client" --grpc "127.0.0.1:$grpc_port" watch "$job_id"

echo "== fetch the output into $out"
rm -rf "$out"
"$bin/beamtrack-client" fetch "$job_id" --out "$out"
"$bin/beamtrack-client" status "$job_id"
