"""Test helpers: servers on loopback — the sharing server inside the test process, Dagster's daemon and webserver as
process groups that are always stopped whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import PROJECT_ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, port: int | None = None, prefix: str = "/delta-sharing", **options: Any
                    ) -> Iterator[str]:
    """Start uvicorn on 127.0.0.1 in a daemon thread, as ``trust serve`` configures it (no proxy headers, no
    Server header; ``options`` such as ssl_certfile pass through); yields the endpoint URL; stops it on exit."""
    import uvicorn

    port = port or free_port()
    scheme = "https" if options.get("ssl_certfile") else "http"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning",
                                           lifespan="off", proxy_headers=False, server_header=False, **options))
    thread = threading.Thread(target=server.run, name=f"sharing-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"sharing server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"{scheme}://127.0.0.1:{port}{prefix}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def stop_process_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started (a Dagster daemon's or
    webserver's code server, run workers, dbt): SIGTERM to the group, SIGKILL after ``timeout``, then SIGKILL to the
    group again even when the leader has exited, because children can outlive it (a code server left alive for an
    hour after its daemon stopped cleanly was seen)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # the group is gone once its last member has exited
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def dagster_daemon(trust_home: Path, dagster_home: Path, log: Path) -> Iterator[subprocess.Popen]:
    """Run ``dagster-daemon run`` on the project's workspace for ``trust_home``, its output in ``log``; yields the
    process and stops its whole process group on exit."""
    env = {**os.environ, "TRUST_HOME": str(trust_home), "DAGSTER_HOME": str(dagster_home),
           "DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w",
                                    str(PROJECT_ROOT / "workspace.yaml")], cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_process_group(process)
