"""The plugin entry points (``elements.registry.plugin_entry_points``) kept across processes in the kernel
cache: reused while nothing was installed, uninstalled or rewritten, scanned again otherwise.

Expected values: a package's ``entry_points.txt`` written here (the format importlib.metadata reads), so
each answer is the file's current content; "reused" is shown by a scan that raises if called.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from beamtrack.engine.elements import registry

pytestmark = pytest.mark.unit


def _install(site: Path, value: str) -> Path:
    meta = site / "fake_plugin-0.1.dist-info"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 0.1\n")
    (meta / "entry_points.txt").write_text(f"[beamtrack]\ninclude = {value}\n")
    return meta


def _includes() -> list[str]:
    return [ep.value for ep in registry.plugin_entry_points.__wrapped__()["beamtrack"] if ep.name == "include"]


def test_entry_points_reused_until_a_package_changes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BEAMTRACK_KERNEL_CACHE", str(tmp_path / "cache"))
    site = tmp_path / "site"
    meta = _install(site, "fake_pkg")
    monkeypatch.setattr(sys, "path", [str(site)])  # only this site: nothing else changes meanwhile
    assert "fake_pkg" in _includes()
    saved = json.loads((tmp_path / "cache" / registry.ENTRY_POINT_CACHE).read_text())
    assert ["include", "fake_pkg"] in saved["groups"]["beamtrack"]

    scan = registry.entry_points

    def refuse(**kw: object) -> object:
        raise AssertionError("scanned although nothing changed")

    monkeypatch.setattr(registry, "entry_points", refuse)
    (site / "output.txt").write_text("")  # a file that is no package's metadata changes nothing
    assert "fake_pkg" in _includes()  # from the cache file

    monkeypatch.setattr(registry, "entry_points", scan)
    _install(site, "other_fake_pkg")  # rewritten in place: another size
    got = _includes()
    assert "other_fake_pkg" in got and "fake_pkg" not in got

    for f in meta.iterdir():
        f.unlink()
    meta.rmdir()  # uninstalled
    assert not {"fake_pkg", "other_fake_pkg"} & set(_includes())


def test_an_unwritable_cache_still_scans(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("BEAMTRACK_KERNEL_CACHE", str(blocker / "cache"))  # under a file: cannot be made
    site = tmp_path / "site"
    _install(site, "fake_pkg")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert "fake_pkg" in _includes()
