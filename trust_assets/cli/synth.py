"""``trust synth``: generate the four synthetic departments' Delta tables under TRUST_DEPARTMENTS_URI (default
TRUST_HOME/departments: a local folder or object storage)."""

from __future__ import annotations

import click

from trust_assets.synth.scales import SCALES

_PARAM_NAMES = {"seed": "--seed", "scale": "--scale", "months": "--months", "start": "--start"}


def _check_start(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from trust_assets.synth.calendar import parse_month

    try:
        parse_month(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None
    return value


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=42, show_default=True,
              help="Random seed: the same seed and options give the same rows (not always in the same "
              "order: compare sorted).")
@click.option("--scale", type=click.Choice(list(SCALES)), default="small", show_default=True,
              help="Population size: tiny (tests), small (demo), regional (~1/10 UK), national (UK).")
@click.option("--months", type=click.IntRange(1, 600), default=12, show_default=True,
              help="How many months to simulate; each is one Delta commit per table.")
@click.option("--start", default="2025-01", show_default=True, callback=_check_start, metavar="YYYY-MM",
              help="First month simulated.")
@click.option("--mess/--no-mess", default=True, show_default=True,
              help="Inject real-world mess: abolished district codes, null ids, duplicate rows, a late correction.")
@click.option("--force", is_flag=True, help="Replace source tables that already exist under TRUST_DEPARTMENTS_URI.")
def synth(seed: int, scale: str, months: int, start: str, mess: bool, force: bool) -> None:
    """Generate the four departments' source Delta tables (DWP, HMRC, DfE, BEIS).

    Writes <TRUST_DEPARTMENTS_URI>/<dept>/<table>/ (default TRUST_HOME/departments; s3://, az://, gs:// too, with
    the store's standard credentials), one commit per table per month. Data is synthetic:
    one population linked across departments by a pseudonymous person_id.
    """
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.synth.writer import ProgressEvent, SynthError, SynthOptionError, generate

    paths = TrustPaths.from_env()
    click.echo(f"Generating {scale} synthetic departments: {months} month(s) from {start}, seed {seed}, "
               f"mess {'on' if mess else 'off'}, into {paths.departments}")

    def show(event: ProgressEvent) -> None:
        noun = "people" if event.version is None else "rows"
        version = "" if event.version is None else f"  -> v{event.version}"
        click.echo(f"  {event.month}  {event.table:<24} {event.action:<22} {event.rows:>12,} {noun:<6} "
                   f"{event.seconds:6.1f} s{version}")

    try:
        summary = generate(paths, seed=seed, scale=scale, months=months, start=start, mess=mess, force=force,
                           progress=show)
    except SynthOptionError as error:
        raise click.BadParameter(str(error), param_hint=_PARAM_NAMES.get(error.option)) from None
    except SynthError as error:
        raise click.ClickException(str(error)) from None

    click.echo(f"\nDone in {summary.seconds:.1f} s. Source tables:")
    for table in summary.tables:
        click.echo(f"  {table.key:<26} v{table.version:<3} {table.rows:>12,} rows  {table.path}")
    example = summary.tables[1].path
    click.echo("\nLook at one (Delta through deltalake, queried with DuckDB):")
    click.echo(f"  python -c \"import duckdb; from deltalake import DeltaTable; "
               f"t = DeltaTable('{example}').to_pyarrow_dataset(); "
               f"print(duckdb.sql('select month, count(*) from t group by 1 order by 1'))\"")
    click.echo("  History of commits: python -c \"from deltalake import DeltaTable; "
               f"[print(h['version'], h['operation'], h.get('trust.synth.change')) "
               f"for h in DeltaTable('{paths.source_table('hmrc', 'paye_employments')}').history()]\"")
