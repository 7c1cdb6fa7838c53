"""``trust ui``: the Dagster UI over the trust's instance (``dagster dev -w workspace.yaml``)."""

from __future__ import annotations

import click

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.transform.engine import ENGINES


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option("--engine", type=click.Choice(ENGINES), default=None,
              help="Where dbt runs for runs launched here and by the sensor (default: $TRUST_ENGINE, else duckdb).")
@click.option("--spark-remote", metavar="sc://HOST:PORT", default=None,
              help="The Spark Connect server for --engine spark (default: $TRUST_SPARK_REMOTE).")
def ui(host: str, port: int, engine: str | None, spark_remote: str | None) -> None:
    """Start the Dagster UI (webserver and daemon: sensors run) on the trust's instance."""
    from trust_assets.cli.run import choose_engine
    from trust_assets.runs.ui import exec_ui

    paths = TrustPaths.from_env()
    chosen = choose_engine(engine, spark_remote)
    click.echo(f"TRUST_HOME={paths.root}  DAGSTER_HOME={paths.dagster_home}  engine={chosen.describe()}\n"
               f"UI: http://{host}:{port}")
    exec_ui(paths, host, port)
