"""Notice new department table versions and request runs for exactly the months they touched.

Months touched are read from the Delta log's file statistics (no data file is read): a new month appends files for
that month; a late correction removes and re-adds an earlier month's files. Outcome cohorts whose follow-up month
just arrived (cohort + 3 and + 6 months) are requested too, since their outcomes only now became observable.
"""


import json

import dagster as dg

from trust_assets.defs.partitions import monthly_partitions
from trust_assets.defs.resources import TrustStorage
from trust_assets.lib.months import shift_month
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES

FOLLOW_UPS = sorted({m for p in PRODUCTS for m in p.follow_up_months})


def months_to_request(touched: dict[str, set[str]]) -> list[str]:
    """The months to rebuild for what changed: every touched month, and cohorts whose follow-up arrived."""
    months = set().union(*touched.values()) if touched else set()
    follow_up_sources = {"hmrc/paye_employments"}  # outcomes are observed in payroll data
    for key, changed in touched.items():
        if key in follow_up_sources:
            months |= {shift_month(m, -k) for m in changed for k in FOLLOW_UPS}
    return sorted(months)


def build_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(job_name=job_name, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Requests monthly runs when any department table commits a new Delta version, pinned "
               "to the versions it saw.")
    def new_source_versions(context: dg.SensorEvaluationContext, trust: TrustStorage
                            ) -> dg.SensorResult | dg.SkipReason:
        from trust_assets.defs.sources.assets import source_key
        from trust_assets.lib.registry.sources import source_table
        from trust_assets.lib.sources.delta_pins import SourceError, latest_version, touched_months
        from trust_assets.lib.sources.volume import MONTHLY_STOCK_TABLES

        paths = trust.paths()
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        current: dict[str, int] = {}
        touched: dict[str, set[str]] = {}
        observations = []
        for table in SOURCE_TABLES:
            uri = str(paths.source_table(table.dept, table.table))
            try:
                version = latest_version(uri)
            except SourceError as exc:
                context.log.warning(f"{table.key}: {exc}")
                continue
            current[table.key] = version
            if seen.get(table.key) == version:
                continue
            touched[table.key] = touched_months(table, uri, seen.get(table.key), version)
            observations.append(dg.AssetObservation(asset_key=source_key(table), metadata={"delta_version": version},
                                                    tags={"dagster/data_version": str(version)}))
        if len(current) < len(SOURCE_TABLES):
            return dg.SkipReason("not every department table is readable yet; waiting")
        if not touched:
            return dg.SkipReason("no new department table versions")
        existing = set(monthly_partitions.get_partition_keys())
        # A month is only buildable once every monthly-stock source has it; others are requested when they arrive.
        buildable = set.intersection(*(
            touched_months(source_table(key), str(paths.source_table(*key.split("/"))), None, current[key])
            for key in MONTHLY_STOCK_TABLES))
        months = [m for m in months_to_request(touched) if m in buildable and m in existing]
        pins = {"resources": {"source_pins": {"config": {"versions": current}}}}
        versions_tag = ",".join(f"{k}@{v}" for k, v in sorted(current.items()))
        requests = [
            dg.RunRequest(run_key=f"{m}:{versions_tag}", partition_key=m, run_config=pins,
                          tags={"trust/trigger": "new_source_versions", "trust/source_versions": versions_tag})
            for m in months
        ]
        return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=json.dumps(current))

    return new_source_versions
