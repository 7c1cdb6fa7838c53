"""``trust run``: build months through the Dagster job (the one the UI launches), or reproduce a publication."""

from __future__ import annotations

from pathlib import Path

import click

from trust_assets.cli.memory import check_memory_setting
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.transform.engine import ENGINES, Engine, EngineError


class UserError(click.ClickException):
    """Bad input from the person running the command: one line naming the problem, exit 2, no traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # Library messages may carry a wrapped engine error over several lines: the console gets one.
        super().__init__(" ".join(message.split()))


def parse_pins(pins: tuple[str, ...]) -> dict[str, int]:
    """``DEPT/TABLE=VERSION`` options -> {key: version}; a malformed one is a usage error naming it."""
    versions: dict[str, int] = {}
    for item in pins:
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise UserError(f"--pin {item!r} is not DEPT/TABLE=VERSION (e.g. hmrc/paye_employments=3)")
        versions[key] = int(value)
    return versions


def choose_engine(name: str | None, spark_remote: str | None) -> Engine:
    """The engine for this command's runs, exported so the Dagster resource (and dbt) see the same setting."""
    try:
        chosen = Engine.choose(name, spark_remote)
    except EngineError as exc:
        raise UserError(f"--engine/--spark-remote: {exc}") from None
    chosen.export()
    return chosen


@click.command()
@click.option("--months", "months_spec", metavar="SPEC",
              help="Months to build: 2025-01..2025-06, 2025-01,2025-03, or all (default: every month in the sources).")
@click.option("--pin", "pins", multiple=True, metavar="DEPT/TABLE=VERSION",
              help="Pin a source to a Delta version (repeatable); default: latest.")
@click.option("--reproduce", metavar="PRODUCT@VERSION",
              help="Rebuild a past publication from its pinned source versions and compare content hashes.")
@click.option("--share-profile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Read the department tables through Delta Sharing with this profile file (shares named "
              "<dept>.default.<table>) instead of direct Delta paths.")
@click.option("--engine", type=click.Choice(ENGINES), default=None,
              help="Where dbt runs: duckdb (embedded, the default) or spark (a Spark Connect server; "
              "default: $TRUST_ENGINE).")
@click.option("--spark-remote", metavar="sc://HOST:PORT", default=None,
              help="The Spark Connect server for --engine spark (default: $TRUST_SPARK_REMOTE; "
              "`bash scripts/services.sh start spark` prints a local one).")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's and dbt's step logs on the console.")
def run(months_spec: str | None, pins: tuple[str, ...], reproduce: str | None, share_profile: str | None,
        engine: str | None, spark_remote: str | None, verbose: bool) -> None:
    """Run the pipeline through Dagster for one or more months (the job the UI runs)."""
    from trust_assets.lib.months import parse_month_spec
    from trust_assets.lib.sources.available import check_pins, shared_source_months, source_months
    from trust_assets.lib.sources.delta_pins import SourceError
    from trust_assets.runs.execute import RunError, RunStopped, run_months
    from trust_assets.runs.instance import InstanceError, postgres_url

    check_memory_setting()
    paths = TrustPaths.from_env()
    choose_engine(engine, spark_remote)
    try:
        postgres_url()
    except InstanceError as exc:
        raise UserError(str(exc)) from None
    if reproduce:
        from trust_assets.runs.reproduce import ReproduceError, reproduce_publication

        try:
            raise SystemExit(0 if reproduce_publication(paths, reproduce, echo=click.echo, quiet=not verbose)
                             else 1)
        except ReproduceError as exc:
            raise UserError(f"--reproduce {reproduce}: {exc}") from None
    versions = parse_pins(pins)
    try:
        available = shared_source_months(share_profile) if share_profile else source_months(paths)
    except SourceError as exc:
        raise UserError(f"{exc} (no department tables under {paths.departments}? generate them with "
                        "`trust synth`)") from None
    try:
        months = parse_month_spec(months_spec, available)
    except ValueError as exc:
        raise UserError(f"--months: {exc}") from None
    if versions and not share_profile:
        try:
            check_pins(paths, versions)
        except SourceError as exc:
            raise UserError(f"--pin: {exc}") from None
    try:
        outcomes = run_months(paths, months, versions, log_level="DEBUG" if verbose else "WARNING",
                              share_profile=str(Path(share_profile).resolve()) if share_profile else "",
                              echo=click.echo, quiet=not verbose)
    except RunStopped as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(130) from None
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    failed = [o for o in outcomes if not o.success]
    if failed:  # each failure was printed as it happened; the exit status and one line say it again
        raise click.ClickException(f"{len(failed)} of {len(outcomes)} run(s) failed: "
                                   + ", ".join(f"{o.months[0]}..{o.months[-1]} (run {o.run_id})" for o in failed))
    click.echo(f"published {len(months)} month(s) to {paths.published}")
