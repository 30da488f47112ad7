"""Generated gRPC/protobuf stubs of proto/beamtrack/v1 (scripts/gen_proto.sh; do not edit)."""
