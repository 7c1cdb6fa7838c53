"""``trust lineage``: trace one published product version back to its sources, checks and readers."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from trust_assets.lib.paths import TrustPaths


@click.command()
@click.argument("product_name", metavar="PRODUCT")
@click.option("--version", "-v", "version", type=int, default=None,
              help="Published Delta version of the product (default: the one in the latest complete release).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def lineage(product_name: str, version: int | None, as_json: bool) -> None:
    """Trace a published PRODUCT version: source tables and versions, dbt models, checks, suppressed cells,
    bytes read in place, and the recipients who read that version (from the access audit)."""
    from trust_assets.lib.evaluation.report.data import (
        human_bytes,
        human_duration,
        product_history,
        read_access_audit,
        reads_of,
    )

    paths = TrustPaths.from_env()
    try:
        history = product_history(paths, product_name, with_stats=False)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="PRODUCT") from None
    if not history:
        raise click.ClickException(
            f"{product_name} has no published versions yet (no publish commit in a complete release at "
            f"{paths.published_product(product_name)})")
    chosen = history[-1] if version is None else next((v for v in history if v.version == version), None)
    if chosen is None:
        known = ", ".join(str(v.version) for v in history)
        raise click.ClickException(f"{product_name} has no published version {version}; published: {known} "
                                   "(versions of complete releases)")
    reads = reads_of(read_access_audit(paths), product_name, chosen.version)

    if as_json:
        record = asdict(chosen) | {"latency_ms": chosen.latency_ms,
                                   "reads": [asdict(r) | {"agreements": sorted(r.agreements)} for r in reads]}
        click.echo(json.dumps(record, indent=2, default=str))
        return

    v = chosen
    click.secho(f"{v.product} v{v.version}", bold=True, nl=False)
    click.echo(f"  published {v.published_at:%Y-%m-%d %H:%M:%S} UTC  run {v.run_id or '-'}")
    click.echo(f"  months: {', '.join(v.months) or '-'}")
    click.echo(f"  disclosure policy: {v.policy_version or '-'}   content sha256: {v.content_hash or '-'}")
    click.echo(f"  latency (newest source commit to publication): {human_duration(v.latency_ms)}")
    click.secho("sources (Delta version read):", bold=True)
    for key, n in sorted(v.sources.items()):
        when = v.source_commit_times.get(key)
        stamp = f"  committed {_utc(when)}" if when is not None else ""
        click.echo(f"  {key:<24} v{n}{stamp}")
    click.secho("models:", bold=True)
    click.echo("  " + (", ".join(v.models) or "-"))
    click.secho(f"checks: {v.checks_passed} passed, {v.checks_warned} warned, {v.checks_failed} failed", bold=True)
    for c in v.checks:
        mark = click.style("PASS", fg="green") if c.get("passed") else click.style("FAIL", fg="red")
        detail = f" - {c['description']}" if c.get("description") else ""
        click.echo(f"  {mark}  {c.get('name', '?')} ({c.get('severity', '-')}){detail}")
    click.secho(f"suppressed cells: {v.suppressed_cells:,}", bold=True)
    for key, count in sorted(v.suppressed.items()):
        click.echo(f"  {key:<40} {count:,}")
    if v.perturbed_cells is not None:
        method = v.protection.get("count_method", "keyed_rounding")
        click.secho(f"perturbed cells ({method}): {v.perturbed_cells:,} of "
                    f"{int(v.protection.get('count_cells_published', 0)):,} published counts", bold=True)
    if v.bytes_read is not None or v.source_bytes_total is not None:
        click.echo(f"read in place: {human_bytes(v.bytes_read)} (a batch copy would move "
                   f"{human_bytes(v.source_bytes_total)})")
    click.secho(f"recipients who read v{v.version}:", bold=True)
    if not reads:
        click.echo("  none recorded")
    for r in reads:
        denied = f", {r.denied} denied" if r.denied else ""
        agreements = f" under {', '.join(sorted(r.agreements))}" if r.agreements else ""
        click.echo(f"  {r.recipient}: {r.reads} read(s), {r.files} file(s), {human_bytes(r.bytes)}"
                   f"{agreements}{denied}")


def _utc(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
