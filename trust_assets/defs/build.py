"""Assemble the stages into one Definitions object (cached: built once per process)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import dagster as dg

MONTHLY_JOB = "monthly_products"
OBSERVE_JOB = "observe_department_tables"


@cache
def build_definitions() -> dg.Definitions:
    from dagster_dbt import DbtCliResource

    from trust_assets.defs.partitions import monthly_partitions
    from trust_assets.defs.resources import SourcePins, TrustStorage
    from trust_assets.defs.sources.assets import department_tables, pinned_sources
    from trust_assets.defs.sources.sensors import build_sensor
    from trust_assets.defs.transform.assets import build_dbt_assets, dbt_project

    project = dbt_project()
    dbt_models = build_dbt_assets(project)
    stage_assets: list = [pinned_sources, dbt_models]
    try:
        from trust_assets.defs.audit.assets import release_candidates
        from trust_assets.defs.publish.assets import published_products

        stage_assets += [release_candidates, published_products]
    except ImportError:  # pragma: no cover - during bring-up only
        pass

    monthly_job = dg.define_asset_job(
        MONTHLY_JOB,
        selection=dg.AssetSelection.assets(*stage_assets),
        partitions_def=monthly_partitions,
        executor_def=dg.in_process_executor,
        description="Pin the department tables, build the conformed products, audit them and publish what passes.",
    )
    observe_job = dg.define_asset_job(OBSERVE_JOB, selection=dg.AssetSelection.assets(department_tables),
                                      executor_def=dg.in_process_executor)
    return dg.Definitions(
        assets=[department_tables, *stage_assets],
        jobs=[monthly_job, observe_job],
        sensors=[build_sensor(MONTHLY_JOB)],
        resources={
            "trust": TrustStorage(),
            "source_pins": SourcePins(),
            # The dbt beside this interpreter: the UI may be started without the venv on PATH.
            "dbt": DbtCliResource(project_dir=project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
        },
        executor=dg.in_process_executor,
    )
