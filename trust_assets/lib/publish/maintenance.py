"""Housekeeping of the trust's own storage (never the departments'): bounded, and every version readable.

A failed or killed write can leave parquet files that no commit references. They are invisible to readers but
take space; ``clean`` removes them, keeping every file any committed version references (so every version stays
readable), sparing files younger than a grace period (they may belong to a write still in flight), and making no
Delta commit (deltalake's vacuum would add versions without provenance to a published product).

Runs also leave GX Data Docs (``reports/gx/<run_id>/``) and dbt target/log folders (``trust/dbt/runs/``): they are
kept for the retention set in one place, ``policies/retention.yaml``, pruned after each run and by
``trust maintenance clean`` (which also removes dbt run folders older code left in the checkout's target/).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from trust_assets.lib.paths import DBT_PROJECT_DIR, POLICIES_DIR, TrustPaths

RETENTION_PATH = POLICIES_DIR / "retention.yaml"


@dataclass(frozen=True)
class CleanResult:
    table: Path
    files: list[str]


def clean_trust_tables(paths: TrustPaths, *, grace_hours: float = 1, dry_run: bool = False) -> list[CleanResult]:
    """Clean every table the trust owns (published products and candidates)."""
    return [clean_orphans(table, grace_hours=grace_hours, dry_run=dry_run) for table in trust_tables(paths)]


def trust_tables(paths: TrustPaths) -> list[Path]:
    """Delta tables the trust owns on this machine: published products and release candidates (in object storage,
    the store's own lifecycle rules keep unreferenced files in check; docs/deployment.md)."""
    from deltalake import DeltaTable

    found = []
    for folder in paths.local_roots:
        if folder.exists():
            found += [p for p in sorted(folder.iterdir()) if p.is_dir() and DeltaTable.is_deltatable(str(p))]
    return found


def referenced_files(table: Path) -> set[str]:
    """Every data file any version of the table references (the add actions of versions 0..latest)."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(table))
    referenced: set[str] = set()
    for version in range(dt.version() + 1):
        try:
            dt.load_as_version(version)
        except Exception:  # a version whose log entry was cleaned up after a checkpoint is no longer readable
            continue
        referenced.update(pa.table(dt.get_add_actions(flatten=True)).column("path").to_pylist())
    return referenced


def clean_orphans(table: Path, *, grace_hours: float = 1, dry_run: bool = False) -> CleanResult:
    """Delete data files no version of ``table`` references and older than ``grace_hours``.

    Not ``DeltaTable.vacuum``: vacuum commits VACUUM START/END versions, which would put versions without
    provenance on top of a published product. This makes no commit at all.
    """
    referenced = referenced_files(table)
    cutoff = time.time() - grace_hours * 3600
    orphans = []
    for path in sorted(table.rglob("*")):
        relative = path.relative_to(table).as_posix()
        if not path.is_file() or relative.startswith("_delta_log/") or path.name.startswith((".", "_")):
            continue
        if relative not in referenced and path.stat().st_mtime < cutoff:
            orphans.append(relative)
            if not dry_run:
                path.unlink()
    return CleanResult(table, orphans)


@dataclass(frozen=True)
class Retention:
    keep_days: float
    keep_runs: int


def load_retention(kind: str, path: Path | None = None) -> Retention:
    """The retention of ``kind`` (data_docs, dbt_runs) from policies/retention.yaml; errors name the field."""
    import yaml

    raw = yaml.safe_load((path or RETENTION_PATH).read_text()) or {}
    entry: Any = raw.get(kind)
    try:
        return Retention(float(entry["keep_days"]), int(entry["keep_runs"]))
    except (TypeError, KeyError, ValueError):
        raise ValueError(f"{path or RETENTION_PATH}: {kind} needs keep_days and keep_runs, got {entry!r}") from None


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (symlinks not followed: a shared copy is counted once, where it is)."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def expired_folders(folder: Path, retention: Retention, *, keep: str | None = None,
                    now: float | None = None) -> list[Path]:
    """Run folders under ``folder`` older than the retention and not among the newest ``keep_runs``."""
    if not folder.is_dir():
        return []
    runs = sorted((p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("_")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = (now if now is not None else time.time()) - retention.keep_days * 86400
    return [p for p in runs[retention.keep_runs:] if p.stat().st_mtime < cutoff and p.name != keep]


def prune_run_folders(folder: Path, kind: str, *, keep: str | None = None, dry_run: bool = False,
                      now: float | None = None) -> list[tuple[Path, int]]:
    """Remove (or with ``dry_run`` list) the expired run folders of ``kind``; returns (folder, bytes) of each."""
    import shutil

    removed = []
    for path in expired_folders(folder, load_retention(kind), keep=keep, now=now):
        removed.append((path, folder_bytes(path)))
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return removed


def legacy_dbt_folders(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """dbt run folders older code wrote inside the checkout (dagster-dbt names them ``<op>-<run>-<uuid>``)."""
    target = project_dir / "target"
    return sorted(p for p in target.glob("dbt_models-*") if p.is_dir()) if target.is_dir() else []


def unused_static_copies(paths: TrustPaths) -> list[Path]:
    """Shared Data Docs asset copies (one per GX version) that no remaining site links to."""
    shared = paths.data_docs / "_shared"
    if not shared.is_dir():
        return []
    used = {link.resolve() for link in paths.data_docs.glob("*/*/static") if link.is_symlink()}
    return sorted(p for p in shared.iterdir() if p.is_dir() and p.resolve() not in used)


@dataclass
class Reclaimed:
    """What ``reclaim`` removed (or would remove), by category: (path, bytes)."""

    items: dict[str, list[tuple[Path, int]]]

    def total_bytes(self) -> int:
        return sum(b for entries in self.items.values() for _, b in entries)


def reclaim(paths: TrustPaths, *, grace_hours: float = 1, dry_run: bool = False,
            now: float | None = None) -> Reclaimed:
    """Everything past its retention or orphaned: Data Docs and dbt run folders, unused shared assets, dbt folders
    in the checkout, and files of failed writes in the trust's Delta tables."""
    import shutil

    items: dict[str, list[tuple[Path, int]]] = {
        "data_docs": prune_run_folders(paths.data_docs, "data_docs", dry_run=dry_run, now=now),
        "dbt_runs": prune_run_folders(paths.dbt_runs, "dbt_runs", dry_run=dry_run, now=now),
    }
    for category, found in (("unused_static_assets", unused_static_copies(paths)),
                            ("dbt_runs_in_checkout", legacy_dbt_folders())):
        items[category] = [(p, folder_bytes(p)) for p in found]
        if not dry_run:
            for p in found:
                shutil.rmtree(p, ignore_errors=True)
    items["orphaned_files"] = []
    for result in clean_trust_tables(paths, grace_hours=grace_hours, dry_run=True):
        for name in result.files:
            file = result.table / name
            items["orphaned_files"].append((file, file.stat().st_size))
            if not dry_run:
                file.unlink()
    return Reclaimed(items)
