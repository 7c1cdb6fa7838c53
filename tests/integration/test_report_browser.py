"""The evaluation report renders in a real browser (headless Chromium) without script errors."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trust_assets.lib.evaluation.report.html import ERROR_MARKER, write_report
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def _fake_trust_builder():
    path = Path(__file__).resolve().parents[1] / "unit" / "lib" / "evaluation" / "test_report.py"
    spec = importlib.util.spec_from_file_location("report_fakes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_fake_trust


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("TRUST_SKIP_BROWSER") == "1":
        pytest.skip("TRUST_SKIP_BROWSER=1 and no chromium on PATH")
    pytest.fail("chromium is not installed: run scripts/install-test-services.sh (apt-get install chromium), "
                "or set TRUST_SKIP_BROWSER=1 to skip the browser test")


def _script_error(dom: str) -> str:
    """What the report's error hook recorded in the rendered DOM ('' when nothing went wrong)."""
    title = re.search(r"<title>([^<]*)</title>", dom)
    flagged = 'data-report-error="1"' in dom
    if title and title.group(1).startswith(ERROR_MARKER):
        return title.group(1)
    return "error flagged on <html>" if flagged else ""


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_without_errors(tmp_path: Path) -> None:
    chromium = _chromium()
    paths = _fake_trust_builder()(tmp_path / "home")
    report_path, _ = write_report(paths)
    url = report_path.as_uri()

    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout and "Lineage graph" in dom.stdout
    for p in PRODUCTS:
        assert f'data-product="{p.name}"' in dom.stdout, f"{p.name} not rendered"
    assert not _script_error(dom.stdout), _script_error(dom.stdout)
    console_errors = [line for line in dom.stderr.splitlines()
                      if "CONSOLE" in line and ("Uncaught" in line or "ERROR" in line.split("CONSOLE")[-1])]
    assert not console_errors, console_errors

    screenshot = paths.reports / "evaluation.png"
    shot = _run(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,2000",
                "--hide-scrollbars", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 20_000  # a blank page compresses to a few KB


def test_error_hook_catches_script_errors(tmp_path: Path) -> None:
    """The check above can fail: a page whose script throws shows the marker in the dumped DOM."""
    chromium = _chromium()
    paths = _fake_trust_builder()(tmp_path / "home", products=(PRODUCTS[0].name,))
    report_path, _ = write_report(paths)
    broken = report_path.with_name("broken.html")
    broken.write_text(report_path.read_text().replace("</body>", "<script>null.boom()</script></body>"))
    dom = _run(chromium, tmp_path / "profile", "--dump-dom", broken.as_uri())
    assert "boom" in _script_error(dom.stdout)
