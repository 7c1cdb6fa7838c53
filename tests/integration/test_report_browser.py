"""The evaluation report and the GX Data Docs it links render in a real browser (headless Chromium), offline,
without script errors."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from _browser import OFFLINE_FLAGS
from _browser import chromium as _chromium
from _browser import run_chromium as _run

from trust_assets.lib.evaluation.report.html import ERROR_MARKER, write_report
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

#: Appended to a Data Docs page: which of the libraries its CDN tags name actually ran.
PROBE = ("<script>document.documentElement.dataset.probe = [typeof jQuery, typeof Popper, typeof jQuery.fn.tooltip, "
         "typeof jQuery.fn.bootstrapTable, typeof vegaEmbed].join(' ');</script></body>")
REMOTE_ASSET = re.compile(r'<(?:script|img)\b[^>]*\bsrc="https?://|<link\b[^>]*\bhref="https?://[^"]*"[^>]*stylesheet'
                          r'|<link\b[^>]*stylesheet[^>]*\bhref="https?://')


def _unit_module(*parts: str):
    path = Path(__file__).resolve().parents[1].joinpath("unit", *parts)
    spec = importlib.util.spec_from_file_location(f"browser_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_trust_builder():
    return _unit_module("lib", "evaluation", "test_report.py").build_fake_trust


def _script_error(dom: str) -> str:
    """What the report's error hook recorded in the rendered DOM ('' when nothing went wrong)."""
    title = re.search(r"<title>([^<]*)</title>", dom)
    flagged = 'data-report-error="1"' in dom
    if title and title.group(1).startswith(ERROR_MARKER):
        return title.group(1)
    return "error flagged on <html>" if flagged else ""


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


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def test_data_docs_linked_from_the_report_render_offline(tmp_path: Path) -> None:
    """The audit's Data Docs, reached from the report's link, open with no network: their tables filled by
    bootstrap-table, Bootstrap, Popper and Vega loaded from the home's local copies, no console message."""
    from trust_assets.lib.audit.data_docs_assets import GX_STATIC_CACHE, localise
    from trust_assets.lib.audit.gx_suites import validate_candidate

    chromium = _chromium()
    if not GX_STATIC_CACHE.is_dir():
        pytest.skip("no npm at set-up: Data Docs keep their CDN links")
    gx_fakes = _unit_module("lib", "audit", "test_gx_suites.py")
    name = gx_fakes.LLM
    paths = _fake_trust_builder()(tmp_path / "home", products=(name,))
    site = paths.data_docs / "run-1" / name
    validate_candidate(name, gx_fakes.llm_candidate(), gx_fakes.params(None), data_docs_dir=site, run_id="run-1",
                       static_dir=paths.data_docs / "_shared")
    assert localise(site, paths.data_docs / "_static")
    report_path, _ = write_report(paths)
    report = _run(chromium, tmp_path / "profile-report", *OFFLINE_FLAGS, "--dump-dom", report_path.as_uri())
    link = re.search(r'<a href="([^"]+)">GX Data Docs of the latest audit</a>', report.stdout)
    assert link, "the report does not link the Data Docs"
    assert (report_path.parent / link.group(1)).resolve() == (site / "index.html").resolve(), link.group(1)
    assert not link.group(1).startswith(("file:", "/")), "a copied reports/ folder would lose the link"

    pages = sorted(site.rglob("*.html"))
    assert {p.parent.name for p in pages} >= {name, "expectations"}  # index, suite, validation result
    for page in pages:
        probed = page.with_name(f"probed-{page.name}")
        probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
        dom = _run(chromium, tmp_path / f"profile-{len(page.parts)}-{page.stem}", *OFFLINE_FLAGS, "--dump-dom",
                   probed.as_uri())
        assert dom.returncode == 0, dom.stderr[-2000:]
        where = page.relative_to(site)
        assert not _console_errors(dom.stderr), (where, _console_errors(dom.stderr))
        assert 'data-probe="function function function function function"' in dom.stdout, \
            (where, re.search(r'data-probe="[^"]*"', dom.stdout))
        assert 'data-index="0"' in dom.stdout, f"{where}: no table rows rendered"
        assert not REMOTE_ASSET.search(dom.stdout), (where, REMOTE_ASSET.search(dom.stdout))
