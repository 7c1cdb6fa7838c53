"""Notice new department table versions and request runs for exactly the months they touched.

"New" is judged against what is published: each month's baseline is the source pins of the latest complete
release that built it (lib/publish/releases.py), so work a ``trust run`` already published is never requested
again, whatever the sensor's cursor says. The cursor only skips ticks when nothing changed since the last one,
and stands in for months no release built yet.

Months touched are read from the Delta log's file statistics (no data file is read): a new month appends files for
that month; a late correction removes and re-adds an earlier month's files. Outcome cohorts whose follow-up month
just arrived (cohort + 3 and + 6 months) are requested too, since their outcomes only now became observable.
Contiguous months are requested as one run (a single-run partition range, as ``trust run`` builds them).
Every buildable month is registered as a partition first (defs/partitions.py), so a new month needs no reload: as
the tick's partition requests, or by the sensor itself when a month older than the newest partition arrives.
"""


import json
from collections.abc import Callable

import dagster as dg

from trust_assets.defs.partitions import (
    new_months,
    partition_range_tags,
    partition_requests,
    register_months,
    registered_months,
)
from trust_assets.defs.resources import TrustStorage
from trust_assets.lib.months import contiguous_blocks, shift_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import FOLLOW_UP_MONTHS, OUTCOME_SOURCE
from trust_assets.lib.registry.sources import SOURCE_TABLES

FOLLOW_UPS = list(FOLLOW_UP_MONTHS)


def months_to_request(touched: dict[str, set[str]]) -> list[str]:
    """The months to rebuild for what changed: every touched month, and cohorts whose follow-up arrived."""
    months = set().union(*touched.values()) if touched else set()
    for key, changed in touched.items():
        if key == OUTCOME_SOURCE:  # outcomes are observed in payroll data
            months |= {shift_month(m, -k) for m in changed for k in FOLLOW_UPS}
    return sorted(months)


def release_baselines(paths: TrustPaths, seen: dict[str, int]) -> Callable[[str], dict[str, int]]:
    """month -> the source versions it was last published from (the pins of the latest release that built it).

    A month no complete release built falls back to the sensor's cursor (what it already requested), so neither a
    ``trust run`` nor a daemon restart (or a lost cursor) makes the sensor request work already published.
    """
    from trust_assets.lib.publish.releases import releases

    by_month: dict[str, dict[str, int]] = {}
    for release in releases(paths):  # oldest first: a later release of a month wins
        for month in release.months:
            by_month[month] = dict(release.pins)
    return lambda month: by_month.get(month, seen)


def new_work(paths: TrustPaths, current: dict[str, int], seen: dict[str, int], candidates: list[str]) -> list[str]:
    """The candidate months whose published sources (or, never published, the cursor's) changed since.

    A month needs a run when a source commit after its baseline versions touched it, or touched a follow-up month
    of it (an outcome cohort). Touched months are read from the Delta logs once per (table, baseline version), and
    only the candidates and their follow-ups are asked about (a register rewritten whole is compared row by row on
    those months' rows only).
    """
    from trust_assets.lib.registry.sources import source_table
    from trust_assets.lib.sources.delta_pins import touched_months

    baseline = release_baselines(paths, seen)
    cache: dict[tuple[str, int | None], set[str]] = {}
    relevant = set(candidates) | {shift_month(m, k) for m in candidates for k in FOLLOW_UPS}

    def touched(key: str, since: int | None) -> set[str]:
        if since == current[key]:
            return set()
        if (key, since) not in cache:
            table = source_table(key)
            cache[key, since] = touched_months(table, str(paths.source_table(table.dept, table.table)), since,
                                               current[key], within=relevant)
        return cache[key, since]

    wanted = []
    for month in candidates:
        base = baseline(month)
        if month in months_to_request({key: touched(key, base.get(key)) for key in current}):
            wanted.append(month)
    return wanted


def build_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(job_name=job_name, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Requests monthly runs for months whose department tables changed since they were last "
               "published (the pins of the latest complete release that built them), pinned to the versions it saw.")
    def new_source_versions(context: dg.SensorEvaluationContext, trust: TrustStorage
                            ) -> dg.SensorResult | dg.SkipReason:
        from trust_assets.defs.sources.assets import source_key
        from trust_assets.lib.registry.sources import source_table
        from trust_assets.lib.sources.delta_pins import SourceError, latest_version, touched_months
        from trust_assets.lib.sources.volume import MONTHLY_STOCK_TABLES

        paths = trust.paths()
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        current: dict[str, int] = {}
        observations = []
        for table in SOURCE_TABLES:
            uri = str(paths.source_table(table.dept, table.table))
            try:
                version = latest_version(uri)
            except SourceError as exc:
                context.log.warning(f"{table.key}: {exc}")
                continue
            current[table.key] = version
            if seen.get(table.key) != version:
                observations.append(dg.AssetObservation(asset_key=source_key(table),
                                                        metadata={"delta_version": version},
                                                        tags={"dagster/data_version": str(version)}))
        if len(current) < len(SOURCE_TABLES):
            return dg.SkipReason("not every department table is readable yet; waiting")
        if current == seen:
            return dg.SkipReason("no new department table versions")
        # A month is only buildable once every monthly-stock source has it; others are requested when they arrive.
        buildable = set.intersection(*(
            touched_months(source_table(key), str(paths.source_table(*key.split("/"))), None, current[key])
            for key in MONTHLY_STOCK_TABLES))
        # A month that just arrived becomes a partition (the UI offers it); the daemon adds it before the runs.
        known = registered_months(context.instance)
        partitions = partition_requests(known, buildable)
        if partitions:
            context.log.info(f"new monthly partitions: {', '.join(new_months(partitions, known))}")
        if any(isinstance(r, dg.DeleteDynamicPartitionsRequest) for r in partitions):
            # A month older than the newest partition re-adds the later keys behind it, and Dagster refuses a tick
            # whose requests delete and add the same keys: the sensor puts it in place itself, before its runs.
            register_months(context.instance, buildable)
            partitions = []
        months = new_work(paths, current, seen, sorted(buildable))
        pins = {"resources": {"source_pins": {"config": {"versions": current}}}}
        versions_tag = ",".join(f"{k}@{v}" for k, v in sorted(current.items()))
        tags = {"trust/trigger": "new_source_versions", "trust/source_versions": versions_tag}
        # One run per contiguous block of months, as `trust run` does: a new month whose commits also touched the
        # two months before it is one run of three, not three runs the new month waits behind (the latency).
        requests = [
            dg.RunRequest(run_key=f"{block[0]}:{versions_tag}", partition_key=block[0], run_config=pins, tags=tags)
            if len(block) == 1 else
            dg.RunRequest(run_key=f"{block[0]}..{block[-1]}:{versions_tag}", run_config=pins,
                          tags={**tags, **partition_range_tags(block)})
            for block in contiguous_blocks(months)
        ]
        if not requests:
            return dg.SensorResult(skip_reason="every month is published from the current department versions",
                                   asset_events=observations, cursor=json.dumps(current),
                                   dynamic_partitions_requests=partitions)
        return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=json.dumps(current),
                               dynamic_partitions_requests=partitions)

    return new_source_versions
