"""GX Data Docs that open offline: the scripts and styles GX links from CDNs, served from local copies instead.

GX's Data Docs pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and others from CDNs; offline (an
evaluator's archived copy, an air-gapped deployment) they render unstyled with empty index tables. The set-up
(``python -m trust_assets.lib.audit.data_docs_assets``, run by ``scripts/bootstrap.sh``) fetches the exact versions
GX asks for from the npm registry with ``npm pack`` into ``GX_STATIC_CACHE``; after each audit writes its Data Docs,
``localise`` copies them once per home into ``reports/gx/_static/`` and rewrites every page's CDN URLs to relative
links there. Two CDN tags carry ``integrity``/``crossorigin``: from ``file://`` that makes Chromium fetch them as
CORS requests, which it blocks (Bootstrap's and Popper's scripts never ran), so those attributes go with the URL; the
logo GX takes from S3 becomes the copy in the site's own ``static/images``. Without the cache (no npm at set-up) the
pages keep their CDN links and a warning says so.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from trust_assets.lib.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

#: Where the set-up keeps the fetched assets (git-ignored), shared by every home.
GX_STATIC_CACHE = PROJECT_ROOT / ".cache" / "gx-static"
#: npm package -> [(path inside the package, local path under _static)]; the versions are the ones GX links.
PACKAGES = {
    "bootstrap@4.3.1": [("dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
                        ("dist/js/bootstrap.min.js", "bootstrap/bootstrap.min.js")],
    "jquery@3.7.1": [("dist/jquery.min.js", "jquery/jquery.min.js")],
    "popper.js@1.12.9": [("dist/umd/popper.min.js", "popper/popper.min.js")],
    "bootstrap-table@1.19.1": [
        ("dist/bootstrap-table.min.css", "bootstrap-table/bootstrap-table.min.css"),
        ("dist/bootstrap-table.min.js", "bootstrap-table/bootstrap-table.min.js"),
        ("dist/extensions/filter-control/bootstrap-table-filter-control.css",
         "bootstrap-table/bootstrap-table-filter-control.css"),
        ("dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
         "bootstrap-table/bootstrap-table-filter-control.min.css"),
        ("dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
         "bootstrap-table/bootstrap-table-filter-control.min.js")],
    "@fortawesome/fontawesome-free@6.6.0": [("css/all.min.css", "fontawesome/css/all.min.css"),
                                            ("webfonts/", "fontawesome/webfonts/")],
    "bootstrap-datepicker@1.9.0": [("dist/css/bootstrap-datepicker.min.css", "datepicker/bootstrap-datepicker.min.css"),
                                   ("dist/js/bootstrap-datepicker.min.js", "datepicker/bootstrap-datepicker.min.js")],
    "@forevolve/bootstrap-dark@1.1.0": [("dist/css/bootstrap-prefers-dark.css",
                                         "bootstrap-dark/bootstrap-prefers-dark.css")],
    "vega@5": [("build/vega.min.js", "vega/vega.min.js")],
    "vega-lite@5": [("build/vega-lite.min.js", "vega/vega-lite.min.js")],
    "vega-embed@6": [("build/vega-embed.min.js", "vega/vega-embed.min.js")],
}
#: The URLs GX's templates link -> the local copy.
URLS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "datepicker/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}


#: A script or stylesheet tag pointing at a local copy (``.../_static/...``), its CORS attributes, GX's S3 logo.
_LOCAL_TAG = re.compile(r'<(?:script|link)\b[^>]*"[^"]*_static/[^"]*"[^>]*>')
_CORS_ATTRIBUTE = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
_GX_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/logo-long\.png[^"]*"')


def _extract(archive: Path, inner: str, target: Path) -> None:
    with tarfile.open(archive) as tar:
        prefix = "package/" + inner
        members = [m for m in tar.getmembers() if m.isfile() and (m.name == prefix or (
            inner.endswith("/") and m.name.startswith(prefix)))]
        if not members:
            raise FileNotFoundError(f"{archive.name} has no {inner}")
        for member in members:
            out = target / member.name[len(prefix):] if inner.endswith("/") else target
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            out.write_bytes(source.read())


def fetch(cache: Path = GX_STATIC_CACHE) -> Path:
    """``npm pack`` each package GX links and keep the files it uses under ``cache`` (replaced whole)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: GX Data Docs will keep their CDN links")
    with tempfile.TemporaryDirectory(prefix="trust-gx-static-") as tmp:
        staging = Path(tmp) / "static"
        for spec, files in PACKAGES.items():
            done = subprocess.run([npm, "pack", "--silent", spec], cwd=tmp, capture_output=True, text=True,
                                  timeout=300, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip()[:300]}")
            archive = Path(tmp) / done.stdout.strip().splitlines()[-1]
            for inner, local in files:
                _extract(archive, inner, staging / local)
        if cache.exists():
            shutil.rmtree(cache)
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, cache)
    return cache


def localise(data_docs_dir: Path, static_dir: Path, cache: Path = GX_STATIC_CACHE) -> bool:
    """Point every page under ``data_docs_dir`` at local copies in ``static_dir`` (filled once from ``cache``).

    Returns False (pages untouched) when the set-up has not fetched the assets.
    """
    if not cache.is_dir():
        log.warning("GX Data Docs keep their CDN links: run `bash scripts/bootstrap.sh` (with npm) to bundle them")
        return False
    if not (static_dir / "jquery" / "jquery.min.js").exists():
        # copyfile, not copy2: the set-up's cache is world-readable, and the home keeps the process's private modes
        shutil.copytree(cache, static_dir, dirs_exist_ok=True, copy_function=shutil.copyfile)
        for folder in (static_dir, *(d for d in static_dir.rglob("*") if d.is_dir())):
            folder.chmod(0o700)  # copytree copies each folder's mode from the cache
    for page in data_docs_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        rel = Path(os.path.relpath(static_dir, page.parent))
        changed = text
        for url, local in URLS.items():
            changed = changed.replace(f'"{url}"', f'"{(rel / local).as_posix()}"')
        changed = _LOCAL_TAG.sub(lambda tag: _CORS_ATTRIBUTE.sub("", tag.group(0)), changed)
        logo = Path(os.path.relpath(data_docs_dir / "static" / "images" / "logo-long.png", page.parent))
        changed = _GX_LOGO.sub(f'"{logo.as_posix()}"', changed)
        if changed != text:
            page.write_text(changed, encoding="utf-8")
    return True


if __name__ == "__main__":
    try:
        print(f"[setup] GX Data Docs assets in {fetch()}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        sys.exit(f"[setup] could not bundle GX Data Docs assets: {exc}")
