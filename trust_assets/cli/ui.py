"""``trust ui``: the Dagster UI over the trust's instance (``dagster dev -w workspace.yaml``)."""

from __future__ import annotations

import click

from trust_assets.lib.paths import TrustPaths


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def ui(host: str, port: int) -> None:
    """Start the Dagster UI (webserver and daemon: sensors run) on the trust's instance."""
    from trust_assets.runs.ui import exec_ui

    paths = TrustPaths.from_env()
    click.echo(f"TRUST_HOME={paths.root}  DAGSTER_HOME={paths.dagster_home}\nUI: http://{host}:{port}")
    exec_ui(paths, host, port)
