#!/usr/bin/env bash
# Regenerate the gRPC/protobuf Python stubs from proto/beamtrack/v1/*.proto into the package
# beamtrack.spec.v1 (proto/src/beamtrack/spec/v1). The stubs are committed, so installing the
# packages needs no protoc; run this after editing a .proto (needs grpcio-tools).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
[ -x "$py" ] || py=python3
out="$root/proto/src/beamtrack/spec/v1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m grpc_tools.protoc -I "$root/proto" --python_out="$tmp" --pyi_out="$tmp" \
  --grpc_python_out="$tmp" "$root"/proto/beamtrack/v1/*.proto
mkdir -p "$out"
for f in "$tmp"/beamtrack/v1/*; do
  # generated code imports its siblings as beamtrack.v1; they live in beamtrack.spec.v1
  sed -e 's/^from beamtrack\.v1 import/from beamtrack.spec.v1 import/' "$f" > "$out/$(basename "$f")"
done
cat > "$out/__init__.py" <<'PY'
"""Generated gRPC/protobuf stubs of proto/beamtrack/v1 (scripts/gen_proto.sh; do not edit)."""
PY
echo "generated: $(cd "$out" && ls)"
