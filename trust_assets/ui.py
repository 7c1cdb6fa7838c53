"""``trust ui``: the Dagster UI over the trust's instance (``dagster dev -w workspace.yaml``)."""

from __future__ import annotations

import os
import shutil
import sys

import click

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def ui(host: str, port: int) -> None:
    """Start the Dagster UI (webserver and daemon: sensors run) on the trust's instance."""
    from trust_assets.runner import prepare_instance

    paths = TrustPaths.from_env()
    prepare_instance(paths)
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    click.echo(f"TRUST_HOME={paths.root}  DAGSTER_HOME={paths.dagster_home}\nUI: http://{host}:{port}")
    os.execvpe(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)],
               {**os.environ, "TRUST_HOME": str(paths.root), "DAGSTER_HOME": str(paths.dagster_home)})
