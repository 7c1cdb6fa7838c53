"""Headless Chromium for the tests that open what a user opens (the report, GX Data Docs, the Dagster UI)."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from trust_assets.lib.paths import TrustPaths

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]
#: Every request off the machine goes to a closed local port (ERR_PROXY_CONNECTION_FAILED): a page that needs the
#: network shows it. 127.0.0.1 (a server the test started) is reached directly.
OFFLINE_FLAGS = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("TRUST_SKIP_BROWSER") == "1":
        pytest.skip("TRUST_SKIP_BROWSER=1 and no chromium on PATH")
    pytest.fail("chromium is not installed: run scripts/install-test-services.sh (apt-get install chromium), "
                "or set TRUST_SKIP_BROWSER=1 to skip the browser test")


def run_chromium(browser: str, profile: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Chromium on one page; a page that did not load fails the test (headless Chromium still exits 0)."""
    done = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    failed = [line for line in done.stderr.splitlines() if "Page load failed" in line]
    assert not failed, failed
    return done


@contextlib.contextmanager
def dagster_ui(paths: TrustPaths, log: Path, timeout_s: float = 120) -> Iterator[str]:
    """``dagster-webserver -w workspace.yaml`` on a home (loopback, a free port); yields its URL, stopped after."""
    from _servers import free_port

    from trust_assets.lib.paths import PROJECT_ROOT

    port = free_port()
    env = {**os.environ, "TRUST_HOME": str(paths.root), "DAGSTER_HOME": str(paths.dagster_home),
           "DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "false"}
    executable = Path(sys.executable).parent / "dagster-webserver"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no /server_info in {timeout_s} s: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def page_text(dom: str) -> str:
    """The words a person sees in a dumped DOM (no scripts, styles or tags)."""
    text = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
