"""A Sail server for ``trust bench --engine spark`` when no ``--spark-remote`` is given: the project's own service.

Started with ``scripts/services.sh start spark`` (the one way the project starts servers) in local-cluster mode
(a driver and 2 workers on this machine, the shape of a real cluster) unless ``TRUST_SPARK_MODE`` says ``local``
(one process). Local-cluster builds this project through the workaround for Sail's driver-side writes
(spark__create_table_as, dbt_project/macros/cross_db/relations.sql). Its state folder is the bench root's, so it
never meets a Sail the user or the tests started. Stopped when the bench ends.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trust_assets.lib.paths import PROJECT_ROOT

SERVICES = PROJECT_ROOT / "scripts" / "services.sh"
#: Bounded: Sail answers in seconds; services.sh itself waits at most 60 s, and may first install pysail.
START_TIMEOUT_S = 600


@contextmanager
def started_sail(state: Path, mode: str = "", workers: int = 2) -> Iterator[str]:
    """Start Sail (``mode``, default $TRUST_SPARK_MODE or local-cluster; ``workers``) with its state under
    ``state``; yields its sc:// URL, stops it after."""
    mode = mode or os.environ.get("TRUST_SPARK_MODE", "").strip() or "local-cluster"
    env = {**os.environ, "TRUST_SERVICES_DIR": str(state)}
    started = subprocess.run(["bash", str(SERVICES), "start", "spark", "--mode", mode, "--workers", str(workers)],
                             capture_output=True, text=True, timeout=START_TIMEOUT_S, env=env, check=False)
    try:
        lines = started.stdout.strip().splitlines()
        if started.returncode != 0 or not lines or not lines[-1].startswith("sc://"):
            raise RuntimeError(f"services.sh start spark failed ({started.returncode}):\n{started.stderr[-2000:]}")
        yield lines[-1]
    finally:
        subprocess.run(["bash", str(SERVICES), "stop", "spark"], capture_output=True, text=True, timeout=120,
                       env=env, check=False)
