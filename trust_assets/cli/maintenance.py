"""``trust maintenance``: bounded storage (behaviour in lib/publish/maintenance.py, retention in
policies/retention.yaml)."""

from __future__ import annotations

from pathlib import Path

import click

from trust_assets.lib.paths import TrustPaths


@click.group()
def maintenance() -> None:
    """Housekeeping of the trust's own storage: old reports, dbt run folders, orphaned files."""


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@maintenance.command("clean")
@click.option("--grace-hours", default=1, show_default=True, type=click.IntRange(min=0),
              help="Spare unreferenced table files younger than this (a write may still be in flight).")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def clean(grace_hours: int, dry_run: bool) -> None:
    """Remove Data Docs and dbt run folders past their retention, unused shared assets, dbt run folders left in
    the checkout, and files of failed writes in published/ and candidates/; every table version stays readable."""
    from trust_assets.lib.publish.maintenance import reclaim

    paths = TrustPaths.from_env()
    result = reclaim(paths, grace_hours=grace_hours, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for category, entries in result.items.items():
        for path, size in entries:
            shown = path.relative_to(paths.root) if path.is_relative_to(paths.root) else path
            click.echo(f"{verb} {category}: {shown} ({_human(size)})")
    counts = ", ".join(f"{len(e)} {c}" for c, e in result.items.items())
    click.echo(f"{'would reclaim' if dry_run else 'reclaimed'} {_human(result.total_bytes())} ({counts}) under "
               f"{paths.root}; retention: policies/retention.yaml")


@maintenance.command("status")
def status() -> None:
    """Report what the trust's storage holds, by kind, and what `clean` would reclaim now."""
    from trust_assets.lib.publish.maintenance import folder_bytes, reclaim

    paths = TrustPaths.from_env()
    for label, root in (("published", paths.published), ("candidates", paths.candidates)):
        local = Path(root) if "://" not in root else None  # object storage: the store reports its own usage
        click.echo(f"{label:<11} {_human(folder_bytes(local)) if local and local.exists() else '-':>10}  {root}")
    for label, folder in (("data docs", paths.data_docs), ("dbt runs", paths.dbt_runs),
                          ("lineage", paths.lineage), ("warehouse", paths.warehouse),
                          ("dagster", paths.dagster_home)):
        click.echo(f"{label:<11} {_human(folder_bytes(folder)) if folder.exists() else '-':>10}  {folder}")
    click.echo(f"reclaimable now: {_human(reclaim(paths, dry_run=True).total_bytes())} (trust maintenance clean)")
