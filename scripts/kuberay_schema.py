"""Cut KubeRay's RayCluster CRD schema down to the fields deploy/kuberay/raycluster.yaml uses,
for tests/e2e/test_deploy.py (the full CRD is ~1 MB). Every object keeps its types, enums and
required fields, and refuses properties the CRD does not define (additionalProperties: false,
as the API server's strict field validation does), so a misspelled field fails the test.

    git clone https://github.com/ray-project/kuberay  # or any copy of the CRD file
    .venv/bin/python scripts/kuberay_schema.py kuberay/ray-operator/config/crd/bases/ray.io_rayclusters.yaml \
        --source "ray-project/kuberay@<commit>" > tests/e2e/schemas/raycluster-v1.json

Run it again after adding a field to the manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "kuberay" / "raycluster.yaml"
DROP = {"description"}


def merge(values: list[Any]) -> Any:
    """One instance holding every key of ``values`` (the elements of a list, a map's values)."""
    dicts = [v for v in values if isinstance(v, dict)]
    if not dicts:
        return values[0] if values else None
    out: dict[str, Any] = {}
    for key in {k for d in dicts for k in d}:
        out[key] = merge([d[key] for d in dicts if key in d])
    lists = [v for v in values if isinstance(v, list)]
    return out if not lists else merge([x for lst in lists for x in lst])


def prune(schema: dict[str, Any], value: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k not in DROP | {"properties", "items", "additionalProperties"}}
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return schema
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        out["properties"] = {}
        for key, sub in value.items():
            if key in props:
                out["properties"][key] = prune(props[key], sub, f"{path}.{key}", unknown)
            else:
                unknown.append(f"{path}.{key}")
        out["additionalProperties"] = False
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = prune(schema["additionalProperties"], merge(list(value.values())),
                                            f"{path}.*", unknown)
    elif isinstance(value, list) and "items" in schema:
        out["items"] = prune(schema["items"], merge(value), f"{path}[]", unknown)
    elif "properties" in schema or "items" in schema:
        out = {k: v for k, v in schema.items() if k not in DROP}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("crd", type=Path)
    ap.add_argument("--source", required=True, help="where the CRD came from (repo@commit)")
    args = ap.parse_args()
    crd = yaml.safe_load(args.crd.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    manifest = next(d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d["kind"] == "RayCluster")
    unknown: list[str] = []
    schema = prune(version["schema"]["openAPIV3Schema"], manifest, "", unknown)
    if unknown:
        sys.exit(f"fields the CRD does not define: {', '.join(unknown)}")
    schema["$comment"] = (f"RayCluster v1 openAPIV3Schema from {args.source}, cut to the fields of "
                          "deploy/kuberay/raycluster.yaml by scripts/kuberay_schema.py")
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
