"""Shared fixtures: an isolated TRUST_HOME per test, analytics off."""

from __future__ import annotations

import importlib.util
import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
# pyspark (the spark extra) treats a `python -c` main module as a doctest run and, finding no Spark distribution,
# exits the process when great_expectations imports it; a SPARK_HOME stops the search. Tests start such processes.
_pyspark = importlib.util.find_spec("pyspark")
if _pyspark is not None and _pyspark.origin:
    os.environ.setdefault("SPARK_HOME", os.path.dirname(_pyspark.origin))


@pytest.fixture(scope="session")
def spark_remote():
    """A Sail Spark Connect server for the session (scripts/services.sh start spark); its sc:// URL."""
    from _services import running_service

    with running_service("spark") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    """Debian's PostgreSQL for the session (scripts/services.sh start postgres); its postgresql:// URL."""
    from _services import running_service

    with running_service("postgres") as url:
        yield url


@pytest.fixture
def trust_home(tmp_path, monkeypatch):
    """A fresh, empty TRUST_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TRUST_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home
