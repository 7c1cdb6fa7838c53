"""Housekeeping of the trust's own Delta tables (never the departments').

A failed or killed write can leave parquet files that no commit references. They are invisible to readers but
take space; ``clean`` removes them, keeping every file any committed version references (so every version stays
readable), sparing files younger than a grace period (they may belong to a write still in flight), and making no
Delta commit (deltalake's vacuum would add versions without provenance to a published product).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from trust_assets.lib.paths import TrustPaths


@dataclass(frozen=True)
class CleanResult:
    table: Path
    files: list[str]


def clean_trust_tables(paths: TrustPaths, *, grace_hours: float = 1, dry_run: bool = False) -> list[CleanResult]:
    """Clean every table the trust owns (published products and candidates)."""
    return [clean_orphans(table, grace_hours=grace_hours, dry_run=dry_run) for table in trust_tables(paths)]


def trust_tables(paths: TrustPaths) -> list[Path]:
    """Delta tables the trust owns: published products and release candidates."""
    from deltalake import DeltaTable

    found = []
    for folder in (paths.published, paths.candidates):
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
