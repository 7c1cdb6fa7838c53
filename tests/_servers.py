"""Test helpers: run the sharing server on loopback inside the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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
