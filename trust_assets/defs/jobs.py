"""The trust's jobs: the monthly release (pin → dbt → audit → publish) and the observation of department tables."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

MONTHLY_JOB = "monthly_products"
OBSERVE_JOB = "observe_department_tables"


def monthly_job(stage_assets: Sequence[dg.AssetsDefinition], partitions_def: dg.PartitionsDefinition
                ) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        MONTHLY_JOB,
        selection=dg.AssetSelection.assets(*stage_assets),
        partitions_def=partitions_def,
        executor_def=dg.in_process_executor,
        description="Pin the department tables, build the conformed products, audit them and publish what passes.",
    )


def observe_job(department_tables: dg.AssetsDefinition) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(OBSERVE_JOB, selection=dg.AssetSelection.assets(department_tables),
                               executor_def=dg.in_process_executor)
