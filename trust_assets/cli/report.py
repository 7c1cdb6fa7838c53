"""``trust report``: write the evaluation report (HTML) and the DCAT catalogue beside it."""

from __future__ import annotations

from pathlib import Path

import click

from trust_assets.lib.paths import TrustPaths


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into (default: TRUST_HOME/trust/reports).")
def report(out_dir: Path | None) -> None:
    """Write evaluation.html (lineage graph, checks, disclosure, latency, reads, trends) and catalog.jsonld."""
    import json

    from trust_assets.lib.evaluation.catalog import CatalogueConfigError, missing_required
    from trust_assets.lib.evaluation.catalog_rules import catalog_problems
    from trust_assets.lib.evaluation.report.html import write_report

    paths = TrustPaths.from_env()
    try:
        report_path, catalog_path = write_report(paths, out_dir)
    except CatalogueConfigError as exc:  # exit 2, one line naming the file and the field
        raise click.UsageError(str(exc)) from None
    click.echo(f"report:    {report_path}")
    click.echo(f"catalogue: {catalog_path}")
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    gaps = missing_required(catalog)
    for dataset, fields in sorted(gaps.items()):
        click.secho(f"  not yet written, so the catalogue lacks {', '.join(fields)}: {dataset}", fg="yellow")
    unwritten = tuple(gaps)
    for problem in catalog_problems(catalog):  # breaches of the UK metadata model beyond tables not yet written
        if not problem.startswith(unwritten) or "required property" not in problem:
            click.secho(f"  catalogue: {problem}", fg="yellow")
