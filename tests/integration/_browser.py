"""Headless Chromium for the tests that open what a user opens (the report, GX Data Docs, the Dagster UI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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
