"""Assemble the stages into one Definitions object (cached: built once per process)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import dagster as dg


@cache
def build_definitions() -> dg.Definitions:
    from trust_assets.defs.audit.assets import release_candidates
    from trust_assets.defs.automation import department_observation_sensor, monthly_schedule, run_failure_alerts
    from trust_assets.defs.jobs import MONTHLY_JOB, monthly_job, observe_job
    from trust_assets.defs.partitions import monthly_partitions
    from trust_assets.defs.publish.assets import published_products
    from trust_assets.defs.resources import SourcePins, TransformEngine, TrustStorage
    from trust_assets.defs.sources.assets import department_tables, pinned_sources
    from trust_assets.defs.sources.sensors import build_sensor
    from trust_assets.defs.transform.assets import build_dbt_assets, dbt_project
    from trust_assets.defs.transform.resource import TrustDbtCliResource

    project = dbt_project()
    stage_assets = [pinned_sources, build_dbt_assets(project), release_candidates, published_products]
    job = monthly_job(stage_assets, monthly_partitions)
    return dg.Definitions(
        # Code references: the UI links each asset to the function (or, for dbt models, the SQL file) that makes it.
        assets=dg.with_source_code_references([department_tables, *stage_assets]),
        jobs=[job, observe_job(department_tables)],
        schedules=[monthly_schedule(job)],
        sensors=[build_sensor(MONTHLY_JOB), run_failure_alerts, department_observation_sensor(department_tables)],
        resources={
            "trust": TrustStorage(),
            "source_pins": SourcePins(),
            "engine": TransformEngine(),
            # The dbt beside this interpreter: the UI may be started without the venv on PATH.
            "dbt": TrustDbtCliResource(project_dir=project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
        },
        executor=dg.in_process_executor,
    )
