"""``trust maintenance``: housekeeping of the trust's own Delta tables (never the departments').

A failed or killed write can leave parquet files that no commit references. They are invisible to readers but
take space; ``clean`` removes them with deltalake's own vacuum, keeping every committed version readable (all
versions are passed as ``keep_versions``) and sparing files younger than a grace period, which may belong to a
write still in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from trust_assets.lib.paths import TrustPaths


@dataclass(frozen=True)
class CleanResult:
    table: Path
    files: list[str]


def trust_tables(paths: TrustPaths) -> list[Path]:
    """Delta tables the trust owns: published products and release candidates."""
    from deltalake import DeltaTable

    found = []
    for folder in (paths.published, paths.candidates):
        if folder.exists():
            found += [p for p in sorted(folder.iterdir()) if p.is_dir() and DeltaTable.is_deltatable(str(p))]
    return found


def clean_orphans(table: Path, *, grace_hours: int = 1, dry_run: bool = False) -> CleanResult:
    """Delete files no version of ``table`` references and that are older than ``grace_hours``."""
    from deltalake import DeltaTable

    dt = DeltaTable(str(table))
    files = dt.vacuum(retention_hours=grace_hours, dry_run=dry_run, enforce_retention_duration=False, full=True,
                      keep_versions=list(range(dt.version() + 1)))
    return CleanResult(table, list(files))


@click.group()
def maintenance() -> None:
    """Housekeeping of the trust's own Delta tables."""


@maintenance.command("clean")
@click.option("--grace-hours", default=1, show_default=True, type=click.IntRange(min=0),
              help="Spare unreferenced files younger than this (a write may still be in flight).")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def clean(grace_hours: int, dry_run: bool) -> None:
    """Remove files left by failed writes in published/ and candidates/; every version stays readable."""
    paths = TrustPaths.from_env()
    total = 0
    for table in trust_tables(paths):
        result = clean_orphans(table, grace_hours=grace_hours, dry_run=dry_run)
        total += len(result.files)
        for name in result.files:
            click.echo(f"{'would remove' if dry_run else 'removed'} {table.name}/{name}")
    click.echo(f"{total} unreferenced file(s) {'found' if dry_run else 'removed'} under {paths.trust}")
