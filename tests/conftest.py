"""Shared fixtures: an isolated TRUST_HOME per test, analytics off."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture
def trust_home(tmp_path, monkeypatch):
    """A fresh, empty TRUST_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TRUST_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home
