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
    """A Sail Spark Connect server for the session (scripts/services.sh start spark: local-cluster, 2 workers, unless
    TRUST_SPARK_MODE=local); its sc:// URL."""
    from _services import running_service

    with running_service("spark") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    """Debian's PostgreSQL for the session (scripts/services.sh start postgres); its postgresql:// URL."""
    from _services import running_service

    with running_service("postgres") as url:
        yield url


@pytest.fixture(scope="session")
def s3_store():
    """A SeaweedFS S3 store for the session (scripts/services.sh start s3): its ``export`` lines as a dict."""
    from _services import running_s3

    with running_s3() as exports:
        yield exports


@pytest.fixture
def s3_env(s3_store, monkeypatch):
    """The S3 store's admin identity, endpoint and region set in the environment for one test."""
    for name, value in s3_store.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return s3_store


@pytest.fixture
def trust_home(tmp_path, monkeypatch):
    """A fresh, empty TRUST_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TRUST_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home
