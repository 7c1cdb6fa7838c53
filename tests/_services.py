"""Test helpers: start the project's own services (scripts/services.sh) for a test session, and stop them after.

Tests never rely on a server started by hand: each service runs from a state folder of its own (under /tmp, readable
by Debian's postgres user, which runs PostgreSQL when the tests run as root) on a free 127.0.0.1 port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "scripts" / "services.sh"


@contextmanager
def running_service(name: str, *options: str, timeout: float = 240) -> Iterator[str]:
    """``services.sh start NAME OPTIONS`` (bounded); yields the last line it printed (the URL); stops it after."""
    state = Path(tempfile.mkdtemp(prefix=f"trust-{name}-"))
    state.chmod(0o755)
    env = {**os.environ, "TRUST_SERVICES_DIR": str(state)}
    try:
        started = subprocess.run(["bash", str(SERVICES), "start", name, *options], capture_output=True, text=True,
                                 timeout=timeout, env=env, check=False)
        assert started.returncode == 0, f"services.sh start {name} failed:\n{started.stderr[-3000:]}"
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SERVICES), "stop", name], capture_output=True, text=True, timeout=60, env=env,
                       check=False)
        shutil.rmtree(state, ignore_errors=True)
