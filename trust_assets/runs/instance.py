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

WRITTEN_BY_TRUST = "# Written by the trust"

DAGSTER_YAML = """\
# Written by the trust: one run at a time, because dbt's DuckDB warehouse allows one writer. The daemon's queue is
# polled every second (Dagster's default is 5 s): a month the sensor requests starts that much sooner.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


POSTGRES_URL_VAR = "TRUST_DAGSTER_POSTGRES_URL"

#: The production instance: run, event-log and schedule storage on Postgres (the URL stays in the environment,
#: never in the file), runs queued for the daemon, at most one step at a time in the duckdb_warehouse pool (one
#: writer of the warehouse and of each published table), the queue polled every second, and run monitoring to
#: fail runs whose worker died.
POSTGRES_DAGSTER_YAML = f"""\
# Written by the trust: the production instance, because {POSTGRES_URL_VAR} is set (docs/deployment.md).
storage:
  postgres:
    postgres_url:
      env: {POSTGRES_URL_VAR}
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_resume_run_attempts: 0
  poll_interval_seconds: 30
telemetry:
  enabled: false
"""


class InstanceError(ValueError):
    """The instance setting is unusable; the message names the variable."""


def postgres_url() -> str:
    """``$TRUST_DAGSTER_POSTGRES_URL`` with its driver named (psycopg2: with psycopg 3 dagster-postgres's
    ``NOTIFY run_events, $1`` fails), or '' for the embedded SQLite instance."""
    value = os.environ.get(POSTGRES_URL_VAR, "").strip()
    if not value:
        return ""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg2") or "@" not in rest:
        raise InstanceError(f"{POSTGRES_URL_VAR} must be postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
                            f"got {scheme}://…")
    return f"postgresql+psycopg2://{rest}"


def dagster_yaml() -> str:
    """The instance settings the environment asks for: Postgres when its URL is set, else embedded SQLite."""
    return POSTGRES_DAGSTER_YAML if postgres_url() else DAGSTER_YAML


def export_environment(paths: TrustPaths) -> None:
    """Set the variables child processes read (dbt's profile, the Dagster instance) from the one resolved root.

    dbt's DuckDB settings follow ``TRUST_MEMORY_LIMIT`` (trust_assets/lib/memory.py), spilling under TRUST_HOME.
    """
    from trust_assets.lib.memory import export_duckdb_settings

    os.environ["TRUST_HOME"] = str(paths.root)
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    export_duckdb_settings(paths)
    export_spark_home()
    url = postgres_url()
    if url:
        os.environ[POSTGRES_URL_VAR] = url


def export_spark_home() -> None:
    """Set SPARK_HOME to the installed pyspark's folder when unset. Without it pyspark searches for a Spark
    installation when great_expectations imports it and exits the process: every run the daemon launched (the
    sensor's, the UI's) died in release_candidates with ``SystemExit: -1``."""
    from importlib.util import find_spec

    if os.environ.get("SPARK_HOME"):
        return
    spec = find_spec("pyspark")
    if spec is not None and spec.origin:
        os.environ["SPARK_HOME"] = os.path.dirname(spec.origin)


def write_instance_config(paths: TrustPaths) -> None:
    """Write dagster.yaml for the current setting. A file the trust wrote for the other setting is replaced (the
    trust owns it); a file someone else wrote is left alone."""
    config = paths.dagster_home / "dagster.yaml"
    wanted = dagster_yaml()
    # every version the trust wrote starts with its marker, so an older home's file is brought up to date too
    if not config.exists() or config.read_text().startswith(WRITTEN_BY_TRUST):
        config.write_text(wanted)


def prepare_instance(paths: TrustPaths) -> DagsterInstance:
    """DAGSTER_HOME under TRUST_HOME, with the trust's instance settings; returns the instance."""
    from dagster import DagsterInstance

    paths.ensure()
    export_environment(paths)
    write_instance_config(paths)
    return DagsterInstance.get()
