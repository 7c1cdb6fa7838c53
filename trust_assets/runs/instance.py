"""The trust's Dagster instance: ``DAGSTER_HOME`` under ``TRUST_HOME``, with the trust's settings.

Runs started by ``trust run`` and runs started in the UI go to the same instance, so what the CLI did is visible in
the UI afterwards.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from trust_assets.lib.paths import TrustPaths

if TYPE_CHECKING:
    from dagster import DagsterInstance

DAGSTER_YAML = """\
# Written by the trust: one run at a time, because dbt's DuckDB warehouse allows one writer.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def export_environment(paths: TrustPaths) -> None:
    """Set the variables child processes read (dbt's profile, the Dagster instance) from the one resolved root."""
    os.environ["TRUST_HOME"] = str(paths.root)
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)


def prepare_instance(paths: TrustPaths) -> DagsterInstance:
    """DAGSTER_HOME under TRUST_HOME, with the trust's instance settings; returns the instance."""
    from dagster import DagsterInstance

    paths.ensure()
    export_environment(paths)
    config = paths.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return DagsterInstance.get()
