"""docs/spec.md is what scripts/gen_spec_docs.py writes from the current Pydantic models, and it
documents every element and distribution type and every JobSpec field."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from beamtrack.spec import JobSpec
from beamtrack.spec.distributions import Distribution
from beamtrack.spec.elements import Element

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_spec_docs.py"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_spec_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _types(union) -> list[str]:
    members = get_args(get_args(union)[0]) if get_args(union) and get_args(get_args(union)[0]) else get_args(union)
    return [m.__name__ for m in members]


def test_committed_spec_reference_is_up_to_date() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    assert text == _gen().render(), "docs/spec.md is out of date: run .venv/bin/python scripts/gen_spec_docs.py"


def test_every_type_and_field_is_documented() -> None:
    text = _gen().render()
    for name in (*_types(Element), *_types(Distribution)):
        assert f"\n### {name}\n" in text, name
    for field in JobSpec.model_fields:
        assert f"| `{field}` |" in text, field


def test_check_mode_exits_nonzero_on_a_stale_file(tmp_path, monkeypatch) -> None:
    mod = _gen()
    monkeypatch.setattr(mod, "OUT", tmp_path / "spec.md")
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["gen_spec_docs.py", "--check"])
    assert mod.main() == 1
    (tmp_path / "spec.md").write_text(mod.render())
    assert mod.main() == 0
    r = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
