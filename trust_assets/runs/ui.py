"""The Dagster UI over the trust's instance: ``dagster dev -w workspace.yaml`` (webserver and daemon)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING, NoReturn

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths
from trust_assets.runs.instance import prepare_instance

if TYPE_CHECKING:
    from dagster import DagsterInstance


def register_held_months(paths: TrustPaths, instance: DagsterInstance) -> list[str]:
    """Make every month the department tables hold a partition, so the UI offers them from its first page.

    The sensor registers months as they arrive, but only on its ticks (and not while it is stopped); a home with
    no department tables yet registers nothing. Returns the months that were new.
    """
    from trust_assets.defs.partitions import register_months
    from trust_assets.lib.sources.available import source_months
    from trust_assets.lib.sources.delta_pins import SourceError

    try:
        held = source_months(paths)
    except SourceError:  # no department tables (yet): `trust synth` makes them, the sensor registers them
        return []
    return register_months(instance, held)


def exec_ui(paths: TrustPaths, host: str, port: int) -> NoReturn:
    """Replace this process with ``dagster dev`` on the trust's instance (sensors run in its daemon)."""
    instance = prepare_instance(paths)  # also exports TRUST_HOME and DAGSTER_HOME for the webserver, daemon, dbt
    register_held_months(paths, instance)
    instance.dispose()
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    os.execvpe(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)],
               dict(os.environ))
