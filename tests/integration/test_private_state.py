"""Trust state is private after a real run: the warehouse, candidates, published tables, lineage and the Dagster
instance are 0600 files in 0700 folders (issue 12: the warehouse and access log used to be 0644)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trust_assets.lib.paths import TrustPaths

pytestmark = pytest.mark.integration


def test_a_run_leaves_every_trust_file_private(published_home: TrustPaths) -> None:
    assert published_home.warehouse.exists() and any(Path(published_home.candidates).iterdir())
    loose = []
    for top in (published_home.trust, published_home.dagster_home):
        for path in [top, *top.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode & 0o777
            if mode != (0o700 if path.is_dir() else 0o600):
                loose.append(f"{oct(mode)} {path.relative_to(published_home.root)}")
    assert oct(published_home.warehouse.stat().st_mode & 0o777) == "0o600"
    assert not loose, loose[:20]
