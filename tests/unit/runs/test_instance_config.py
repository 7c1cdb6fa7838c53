"""The instance settings the trust writes: kept current in homes it wrote, left alone where someone else did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trust_assets.lib.paths import TrustPaths
from trust_assets.runs.instance import DAGSTER_YAML, prepare_instance


@pytest.fixture(autouse=True)
def _environment_restored():
    """prepare_instance exports TRUST_HOME, DAGSTER_HOME and dbt's settings: later tests must not inherit them
    (three dbt builds then shared this test's scratch database and failed on its lock)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _config(paths: TrustPaths) -> Path:
    return paths.dagster_home / "dagster.yaml"


def test_the_queue_is_polled_every_second(tmp_path):
    instance = prepare_instance(TrustPaths(tmp_path))
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.run_coordinator.dequeue_interval_seconds == 1  # Dagster's default is 5 s
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1


def test_an_older_file_the_trust_wrote_is_brought_up_to_date(tmp_path):
    paths = TrustPaths(tmp_path)
    paths.dagster_home.mkdir(parents=True)
    older = "# Written by the trust: one run at a time.\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n"
    _config(paths).write_text(older)
    prepare_instance(paths)
    assert _config(paths).read_text() == DAGSTER_YAML


def test_a_file_someone_else_wrote_is_left_alone(tmp_path):
    paths = TrustPaths(tmp_path)
    paths.dagster_home.mkdir(parents=True)
    theirs = "# ours\nconcurrency:\n  runs:\n    max_concurrent_runs: 2\ntelemetry:\n  enabled: false\n"
    _config(paths).write_text(theirs)
    instance = prepare_instance(paths)
    assert _config(paths).read_text() == theirs
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
