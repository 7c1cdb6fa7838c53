"""Bounded storage (lib/publish/maintenance.py, policies/retention.yaml): run folders kept for their retention,
one copy of GX's static assets per home, and `trust maintenance clean --dry-run` telling what it would remove."""

from __future__ import annotations

import os
import time

from click.testing import CliRunner

from trust_assets.lib.audit.gx_suites import share_static_assets
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.publish.maintenance import (
    expired_folders,
    load_retention,
    reclaim,
    unused_static_copies,
)

DAY = 86400


def _run_folder(root, name: str, age_days: float, size: int = 1000):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "file.bin").write_bytes(b"x" * size)
    stamp = time.time() - age_days * DAY
    os.utime(folder, (stamp, stamp))
    return folder


def test_retention_is_read_from_the_one_policy_file():
    docs, dbt = load_retention("data_docs"), load_retention("dbt_runs")
    assert docs.keep_days > 0 and docs.keep_runs > 0 and dbt.keep_days > 0 and dbt.keep_runs > 0


def test_a_folder_goes_only_when_old_and_not_among_the_newest(tmp_path):
    from trust_assets.lib.publish.maintenance import Retention

    for i in range(6):
        _run_folder(tmp_path, f"run-{i}", age_days=40 + i)
    _run_folder(tmp_path, "fresh", age_days=0)
    expired = {p.name for p in expired_folders(tmp_path, Retention(keep_days=30, keep_runs=3))}
    # newest three kept (fresh, run-0, run-1) though two are old; the rest are old and go
    assert expired == {"run-2", "run-3", "run-4", "run-5"}
    assert expired_folders(tmp_path, Retention(keep_days=60, keep_runs=0)) == []


def test_data_docs_sites_share_one_copy_of_the_static_assets(tmp_path):
    shared = tmp_path / "gx" / "_static" / "gx-1"
    for run in ("run-a", "run-b"):
        site = tmp_path / "gx" / run / "product"
        (site / "static" / "styles").mkdir(parents=True)
        (site / "static" / "styles" / "site.css").write_text("body {}")
        (site / "index.html").write_text('<link href="static/styles/site.css">')
        share_static_assets(site, shared)
        assert (site / "static").is_symlink()
        assert (site / "static" / "styles" / "site.css").read_text() == "body {}"  # the page's links still work
    # one real copy on disk (rglob does not follow the sites' links), under the shared folder
    assert [p.relative_to(tmp_path) for p in (tmp_path / "gx").rglob("site.css")] == [
        shared.relative_to(tmp_path) / "styles" / "site.css"]


def test_maintenance_dry_run_tells_and_removes_nothing_then_clean_reclaims(tmp_path, monkeypatch):
    from trust_assets.cli import main

    paths = TrustPaths(tmp_path)
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    old = [_run_folder(paths.data_docs, f"old-{i}", age_days=100 + i) for i in range(12)]
    old_dbt = [_run_folder(paths.dbt_runs, f"dbt-{i}", age_days=100 + i, size=5000) for i in range(7)]
    orphan_static = paths.data_docs / "_shared" / "gx-0.0"
    orphan_static.mkdir(parents=True)

    dry = CliRunner().invoke(main, ["maintenance", "clean", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove data_docs: trust/reports/gx/old-11" in dry.output
    assert "would remove dbt_runs: trust/dbt/runs/dbt-6" in dry.output
    assert "would remove unused_static_assets" in dry.output
    assert all(p.exists() for p in old + old_dbt) and orphan_static.exists()

    plan = reclaim(paths, dry_run=True)
    assert len(plan.items["data_docs"]) == 2 and len(plan.items["dbt_runs"]) == 2  # 10 and 5 newest kept
    assert unused_static_copies(paths) == [orphan_static]

    done = CliRunner().invoke(main, ["maintenance", "clean"])
    assert done.exit_code == 0, done.output
    assert "reclaimed" in done.output
    assert sum(p.exists() for p in old) == 10 and sum(p.exists() for p in old_dbt) == 5
    assert not orphan_static.exists()
    status = CliRunner().invoke(main, ["maintenance", "status"])
    assert status.exit_code == 0 and "data docs" in status.output and "reclaimable now: 0 B" in status.output
