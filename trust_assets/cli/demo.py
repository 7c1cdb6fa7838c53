"""``trust demo``: the whole trust on one machine in a few minutes (behaviour in runs/demo.py)."""

from __future__ import annotations

import click

from trust_assets.lib.paths import TrustPaths


@click.command()
@click.option("--scale", type=click.Choice(["tiny", "small", "demo"]), default="demo", show_default=True,
              help="Population of the demo: demo (250,000 people in the North East, so most of its cells are "
              "published), small (the same number over the whole UK: most cells suppressed), tiny.")
@click.option("--months", default=9, show_default=True, type=click.IntRange(7, 36),
              help="Months of data (at least 7, so six-month outcomes exist).")
@click.option("--seed", default=42, show_default=True, type=int)
def demo(scale: str, months: int, seed: int) -> None:
    """Generate a small population, run every month through Dagster, and summarise the products."""
    from trust_assets.runs.demo import DemoError, product_summaries, run_demo

    paths = TrustPaths.from_env()
    try:
        result = run_demo(paths, scale=scale, months=months, seed=seed, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\nDone in {result.seconds:.0f} s. Published products (Delta tables):")
    for line in product_summaries(paths):
        click.echo(line)
    indented = "\n".join("    " + line for line in result.snippet.splitlines())
    click.echo(f"""
Look at them
  DuckDB/pandas:  python -c "from deltalake import DeltaTable; print(DeltaTable('{paths.published_product(
      'local_labour_market_monthly')}').to_pandas().head())"
  Dagster UI:     TRUST_HOME={paths.root} .venv/bin/trust ui      (then http://127.0.0.1:3000)
  Lineage:        TRUST_HOME={paths.root} .venv/bin/trust lineage local_labour_market_monthly
  Report:         {result.report}
  Catalogue:      {result.catalog}

Read a product over Delta Sharing
  TRUST_HOME={paths.root} .venv/bin/trust serve        (in another terminal)
  profile: {result.profile}
{indented}
""")
