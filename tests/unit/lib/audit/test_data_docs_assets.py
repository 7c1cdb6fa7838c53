"""GX Data Docs offline: every CDN asset GX's templates link has a local copy, and pages are rewritten to it."""

from __future__ import annotations

import re
from pathlib import Path

from trust_assets.lib.audit.data_docs_assets import GX_STATIC_CACHE, PACKAGES, URLS, localise

ASSET = re.compile(r'(?:src|href)="(https://[^"]+)"')


def _gx_template_urls() -> set[str]:
    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    urls = set()
    for path in templates.rglob("*.j2"):
        urls |= set(ASSET.findall(path.read_text(encoding="utf-8")))
    return {u for u in urls if "greatexpectations.io" not in u}  # links to GX's site, not assets


def test_every_asset_gx_links_has_a_local_copy() -> None:
    assert _gx_template_urls() <= set(URLS), sorted(_gx_template_urls() - set(URLS))
    provided = {local for files in PACKAGES.values() for _, local in files}
    assert set(URLS.values()) <= provided


def test_pages_point_at_one_local_copy_per_home(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for local in set(URLS.values()):
        (cache / local).parent.mkdir(parents=True, exist_ok=True)
        (cache / local).write_text("/* asset */")
    (cache / "jquery" / "jquery.min.js").write_text("/* jquery */")
    docs = tmp_path / "reports" / "gx" / "run-1" / "local_labour_market_monthly"
    page = docs / "validations" / "x" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(''.join(f'<script src="{u}"></script>' for u in URLS) + '<a href="https://greatexpectations.io">')
    (docs / "index.html").write_text(f'<link href="{next(iter(URLS))}">')
    static = tmp_path / "reports" / "gx" / "_static"

    assert localise(docs, static, cache)
    text = page.read_text()
    assert not any(u in text for u in URLS) and "https://greatexpectations.io" in text
    for ref in re.findall(r'src="([^"]+)"', text):
        assert (page.parent / ref).resolve().is_file(), ref
    assert (docs / "index.html").read_text().startswith('<link href="../../_static/')


def test_without_the_set_up_cache_pages_are_left_as_they_are(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(f'<script src="{next(iter(URLS))}"></script>')
    assert not localise(tmp_path, tmp_path / "_static", tmp_path / "no-cache")
    assert next(iter(URLS)) in page.read_text()


def test_the_set_up_fetched_the_assets() -> None:
    if not GX_STATIC_CACHE.is_dir():  # no npm on this machine: said by bootstrap.sh, nothing to check
        return
    for local in set(URLS.values()):
        assert (GX_STATIC_CACHE / local).stat().st_size > 0, local
    assert any((GX_STATIC_CACHE / "fontawesome" / "webfonts").iterdir())


def test_local_copies_lose_their_cors_attributes_and_the_logo_is_the_sites_own(tmp_path: Path) -> None:
    """From file:// a tag with integrity/crossorigin is fetched as a CORS request, which Chromium blocks."""
    cache = tmp_path / "cache"
    (cache / "jquery").mkdir(parents=True)
    (cache / "jquery" / "jquery.min.js").write_text("/* jquery */")
    url = "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"
    docs = tmp_path / "gx" / "run-1" / "product"
    page = docs / "validations" / "index.html"
    page.parent.mkdir(parents=True)
    logo = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261202T061316Z"
    page.write_text(f'<script src="{url}" integrity="sha384-x" crossorigin="anonymous"></script>'
                    f'<script src="https://other.example/x.js" crossorigin="anonymous"></script><img src="{logo}">')
    assert localise(docs, tmp_path / "gx" / "_static", cache)
    assert page.read_text() == ('<script src="../../../_static/bootstrap/bootstrap.min.js"></script>'
                                '<script src="https://other.example/x.js" crossorigin="anonymous"></script>'
                                '<img src="../static/images/logo-long.png">')
