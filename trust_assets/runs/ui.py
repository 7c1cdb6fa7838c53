"""The Dagster UI over the trust's instance: ``dagster dev -w workspace.yaml`` (webserver and daemon)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import NoReturn

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths
from trust_assets.runs.instance import prepare_instance


def exec_ui(paths: TrustPaths, host: str, port: int) -> NoReturn:
    """Replace this process with ``dagster dev`` on the trust's instance (sensors run in its daemon)."""
    prepare_instance(paths)  # also exports TRUST_HOME and DAGSTER_HOME for the webserver, daemon and dbt
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    os.execvpe(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)],
               dict(os.environ))
