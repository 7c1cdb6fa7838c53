"""Test homes: point a test at a TRUST_HOME and copy a template home.

A module of its own (not a conftest) so any test file can import it by a unique name: pytest's rootdir import mode
maps every ``conftest`` to one module name, so ``from conftest import`` finds whichever conftest came first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trust_assets.lib.paths import TrustPaths


def use_home(monkeypatch: pytest.MonkeyPatch, root: Path) -> TrustPaths:
    """Point TRUST_HOME (and the DAGSTER_HOME the runner derives from it) at ``root`` for one test."""
    paths = TrustPaths(root)
    monkeypatch.setenv("TRUST_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(paths.dagster_home))
    return paths


def copy_home(template: Path, destination: Path) -> Path:
    shutil.copytree(template, destination, symlinks=True)
    return destination
