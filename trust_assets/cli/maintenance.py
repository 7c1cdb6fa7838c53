"""``trust maintenance``: housekeeping of the trust's own Delta tables (behaviour in lib/publish/maintenance.py)."""

from __future__ import annotations

import click

from trust_assets.lib.paths import TrustPaths


@click.group()
def maintenance() -> None:
    """Housekeeping of the trust's own Delta tables."""


@maintenance.command("clean")
@click.option("--grace-hours", default=1, show_default=True, type=click.IntRange(min=0),
              help="Spare unreferenced files younger than this (a write may still be in flight).")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def clean(grace_hours: int, dry_run: bool) -> None:
    """Remove files left by failed writes in published/ and candidates/; every version stays readable."""
    from trust_assets.lib.publish.maintenance import clean_trust_tables

    paths = TrustPaths.from_env()
    total = 0
    for result in clean_trust_tables(paths, grace_hours=grace_hours, dry_run=dry_run):
        total += len(result.files)
        for name in result.files:
            click.echo(f"{'would remove' if dry_run else 'removed'} {result.table.name}/{name}")
    click.echo(f"{total} unreferenced file(s) {'found' if dry_run else 'removed'} under {paths.trust}")
