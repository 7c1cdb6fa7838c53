"""``trust run``: run the pipeline through Dagster, the same job the UI launches, on the persistent instance.

Runs go to Dagster's SQLite instance under ``$TRUST_HOME/dagster``, so what ``trust run`` did is visible in the
UI afterwards (``trust ui``). The job runs in process: Dagster's multiprocess executor costs seconds per step here,
and DuckDB's own parallelism is where the cores go.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from trust_assets.lib.paths import TrustPaths

DAGSTER_YAML = """\
# Written by the trust: one run at a time, because dbt's DuckDB warehouse allows one writer.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    months: list[str]
    success: bool
    message: str


def prepare_instance(paths: TrustPaths):
    """DAGSTER_HOME under TRUST_HOME, with the trust's instance settings; returns the instance."""
    from dagster import DagsterInstance

    paths.ensure()
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    config = paths.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return DagsterInstance.get()


def contiguous_blocks(months: list[str]) -> list[list[str]]:
    """Split sorted months into runs of consecutive months (one Dagster partition range each)."""
    from trust_assets.defs.sources.sensors import shift_month

    blocks: list[list[str]] = []
    for month in sorted(set(months)):
        if blocks and shift_month(blocks[-1][-1], 1) == month:
            blocks[-1].append(month)
        else:
            blocks.append([month])
    return blocks


def source_months(paths: TrustPaths) -> list[str]:
    """Months present in every monthly-stock source, from the Delta log's statistics (no data read)."""
    from trust_assets.lib.delta_io import latest_version, touched_months
    from trust_assets.lib.source_rules import MONTHLY_STOCK_TABLES
    from trust_assets.lib.sources import source_table

    sets = []
    for key in MONTHLY_STOCK_TABLES:
        table = source_table(key)
        uri = str(paths.source_table(table.dept, table.table))
        sets.append(touched_months(table, uri, None, latest_version(uri)))
    return sorted(set.intersection(*sets)) if sets else []


def shared_source_months(share_profile: str) -> list[str]:
    """Months present in every monthly-stock source read through shares (reads only the month column)."""
    import duckdb

    from trust_assets.lib.share_pins import default_share_table, pin_shared
    from trust_assets.lib.source_rules import MONTHLY_STOCK_TABLES
    from trust_assets.lib.sources import source_table
    from trust_assets.sharing.client import immutable_http_filesystem

    con = duckdb.connect()
    for scheme in ("http", "https"):
        con.register_filesystem(immutable_http_filesystem(scheme))
    sets = []
    for key in MONTHLY_STOCK_TABLES:
        table = source_table(key)
        files = list(pin_shared(table, share_profile, default_share_table(table)).files)
        rows = con.execute("select distinct strftime(month, '%Y-%m') from read_parquet($f)", {"f": files}).fetchall()
        sets.append({r[0] for r in rows})
    con.close()
    return sorted(set.intersection(*sets))


def observe_sources(instance) -> None:
    from trust_assets.definitions import defs
    from trust_assets.defs.build import OBSERVE_JOB

    result = defs().resolve_job_def(OBSERVE_JOB).execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    if not result.success:
        raise click.ClickException("could not observe the department tables: "
                                   + failure_message(instance, result.run_id))


def quiet_run_config(versions: dict[str, int] | None, log_level: str, share_profile: str = "") -> dict:
    """Run config for a pinned run; the console logger shows ``log_level`` and up (the UI shows everything)."""
    pins = {"versions": dict(versions or {}), "share_profile": share_profile}
    return {"resources": {"source_pins": {"config": pins}},
            "loggers": {"console": {"config": {"log_level": log_level}}}}


def run_months(months: list[str], versions: dict[str, int] | None = None, *, tags: dict[str, str] | None = None,
               echo=click.echo, log_level: str = "WARNING", share_profile: str = "") -> list[RunOutcome]:
    """Run the monthly job once per contiguous block of months; returns one outcome per Dagster run."""


    paths = TrustPaths.from_env()
    instance = prepare_instance(paths)
    with run_lock(paths, echo):
        return _run_blocks(instance, months, versions, tags, echo, log_level, share_profile)


@contextmanager
def run_lock(paths: TrustPaths, echo=click.echo):
    """One ``trust run`` at a time per TRUST_HOME: in-process runs bypass the instance's run queue, and dbt's
    DuckDB warehouse allows one writer. A second run waits for the first rather than failing half-way."""
    import fcntl

    handle = (paths.trust / ".run.lock").open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"[run] another run is using {paths.root}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


def _run_blocks(instance, months, versions, tags, echo, log_level, share_profile) -> list[RunOutcome]:
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from trust_assets.definitions import defs
    from trust_assets.defs.build import MONTHLY_JOB

    if not share_profile:  # observation reads the Delta logs directly; a share-only trust cannot
        observe_sources(instance)
    job = defs().resolve_job_def(MONTHLY_JOB)
    run_config = quiet_run_config(versions, log_level, share_profile)
    outcomes = []
    for block in contiguous_blocks(months):
        echo(f"[run] {block[0]}..{block[-1]}: pin sources, dbt build, audit, publish")
        run_tags = {ASSET_PARTITION_RANGE_START_TAG: f"{block[0]}-01", ASSET_PARTITION_RANGE_END_TAG: f"{block[-1]}-01",
                    **(tags or {})}
        result = job.execute_in_process(instance=instance, run_config=run_config, tags=run_tags,
                                        raise_on_error=False)
        message = "succeeded" if result.success else failure_message(instance, result.run_id)
        outcomes.append(RunOutcome(result.run_id, block, result.success, message))
        echo(f"[run] {block[0]}..{block[-1]}: run {result.run_id} {message}")
    return outcomes


def failure_message(instance, run_id: str) -> str:
    """The errors and failed checks of a run, in words a data engineer can act on."""
    from dagster import DagsterEventType

    lines = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error, messages = event.step_failure_data.error, []
            while error is not None:  # Dagster wraps the user's exception: its cause says what went wrong
                messages.append(error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name)
                error = error.cause
            lines.append(f"step {event.step_key} failed: " + " <- ".join(messages[-2:]))
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.asset_check_evaluation_data
            if not data.passed:
                blocking = data.severity is None or data.severity.value == "ERROR"
                desc = " ".join((data.description or "").split())
                lines.append(f"check {data.asset_key.to_user_string()}:{data.check_name} "
                             f"{'failed' if blocking else 'warned'} {desc}".strip())
    return "failed:\n  " + "\n  ".join(_clip(line) for line in (lines or ["see the Dagster UI for this run"]))


def _clip(text: str, limit: int = 600) -> str:
    """Keep messages readable: a dbt failure embeds the whole command with every pinned file path."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_months(spec: str | None, available: list[str]) -> list[str]:
    """``2025-01..2025-03``, ``2025-01,2025-04`` or ``all``/None (every month the sources hold)."""
    from trust_assets.lib.dbt_args import month_start

    if not spec or spec == "all":
        if not available:
            raise click.UsageError("the department tables hold no months yet: run `trust synth` first")
        return available
    months: set[str] = set()
    for part in spec.split(","):
        lo, sep, hi = part.strip().partition("..")
        try:
            lo = month_start(lo)[:7]
            hi = month_start(hi)[:7] if sep else lo
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--months") from exc
        if hi < lo:
            raise click.BadParameter(f"range {part!r} ends before it starts", param_hint="--months")
        block = [m for m in _month_iter(lo, hi)]
        months.update(block)
    missing = sorted(months - set(available))
    if missing:
        raise click.BadParameter(f"no source data for {', '.join(missing)} (sources hold "
                                 f"{available[0] if available else '-'}..{available[-1] if available else '-'})",
                                 param_hint="--months")
    return sorted(months)


def _month_iter(lo: str, hi: str):
    from trust_assets.defs.sources.sensors import shift_month

    month = lo
    while month <= hi:
        yield month
        month = shift_month(month, 1)


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
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's and dbt's step logs on the console.")
def run(months_spec: str | None, pins: tuple[str, ...], reproduce: str | None, share_profile: str | None,
        verbose: bool) -> None:
    """Run the pipeline through Dagster for one or more months (the job the UI runs)."""
    paths = TrustPaths.from_env()
    if reproduce:
        from trust_assets.reproduce import reproduce_publication

        raise SystemExit(0 if reproduce_publication(reproduce, echo=click.echo) else 1)
    versions: dict[str, int] = {}
    for item in pins:
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise click.BadParameter(f"{item!r} is not DEPT/TABLE=VERSION", param_hint="--pin")
        versions[key] = int(value)
    from trust_assets.lib.delta_io import SourceError

    try:
        available = shared_source_months(share_profile) if share_profile else source_months(paths)
    except SourceError as exc:
        raise click.ClickException(f"{exc}\n(no department tables under {paths.departments}? "
                                   "generate them with `trust synth`)") from exc
    months = parse_months(months_spec, available)
    outcomes = run_months(months, versions, log_level="DEBUG" if verbose else "WARNING",
                          share_profile=str(Path(share_profile).resolve()) if share_profile else "")
    failed = [o for o in outcomes if not o.success]
    if failed:
        raise click.ClickException("\n".join(f"run {o.run_id} for {o.months[0]}..{o.months[-1]} {o.message}"
                                              for o in failed))
    click.echo(f"published {len(months)} month(s) to {paths.published}")
