"""OpenLineage 2-0-2 RunEvents for the trust's pipeline steps: START, then COMPLETE or FAIL, with the Dagster run as
parent. Built as plain dicts by openlineage-python; validated and written by ``transport``.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from trust_assets.lib.evaluation.lineage.facets import (
    CANDIDATE_SYMLINK_NAMESPACE,
    DISCLOSURE_FACET,
    JOB_NAMESPACE,
    PRODUCER,
    PUBLISHED_SYMLINK_NAMESPACE,
    SOURCE_SYMLINK_NAMESPACE,
    PublishedOutput,
    SourceRead,
    StepRun,
    assertions_facet,
    column_lineage_facet,
    dataset_identity,
    disclosure_facet,
    schema_facet,
    source_location,
    symlink,
)
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import SOURCE_TABLES, source_table


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_uuid(value: str) -> str:
    """Dagster run ids are UUIDs; anything else gets a stable UUID5 so the parent facet stays valid."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{JOB_NAMESPACE}:{value}"))


def _run_facets(step: StepRun) -> dict[str, Any]:
    from openlineage.client.facet_v2 import parent_run, processing_engine_run

    facets: dict[str, Any] = {}
    if step.parent_run_id:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=_as_uuid(step.parent_run_id)),
            job=parent_run.Job(namespace=JOB_NAMESPACE, name=step.parent_job or "dagster_run"),
            producer=PRODUCER,
        )
    try:
        from importlib.metadata import version

        dagster_version = version("dagster")
    except Exception:  # the engine version is informative only
        dagster_version = "unknown"
    facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
        version=dagster_version, name="Dagster", producer=PRODUCER)
    return facets


def _job(name: str, kind: str = "ASSET") -> Any:
    from openlineage.client.event_v2 import Job
    from openlineage.client.facet_v2 import job_type_job

    return Job(namespace=JOB_NAMESPACE, name=name, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER", jobType=kind,
                                                producer=PRODUCER)})


def _source_inputs(paths: TrustPaths, reads: Sequence[SourceRead]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import dataset_version_dataset, input_statistics_input_dataset

    datasets = []
    for read in reads:
        table = source_table(read.key)
        namespace, name = dataset_identity(source_location(paths, read))
        facets = {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(int(read.version)), producer=PRODUCER),
            "schema": schema_facet(table.schema, {c.name: c.description for c in table.columns}),
            "symlinks": symlink(SOURCE_SYMLINK_NAMESPACE.format(dept=table.dept), table.table),
        }
        input_facets: dict[str, Any] = {}
        if any(v is not None for v in (read.bytes_read, read.files_read, read.rows_read)):
            input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=read.rows_read, size=read.bytes_read, fileCount=read.files_read, producer=PRODUCER)
        datasets.append(InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets))
    return datasets


def _candidate_input(paths: TrustPaths, out: PublishedOutput) -> Any:
    """The audited candidate as an input of the publish step; the assertions are an input facet by spec."""
    from openlineage.client.event_v2 import InputDataset

    namespace, name = dataset_identity(out.candidate_location or paths.candidate(out.product))
    return InputDataset(namespace=namespace, name=name,
                        facets={"symlinks": symlink(CANDIDATE_SYMLINK_NAMESPACE, out.product)},
                        inputFacets={"dataQualityAssertions": assertions_facet(out.assertions)})


def _product_output(paths: TrustPaths, out: PublishedOutput, resolve: Mapping[str, tuple[str, str]]) -> Any:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        documentation_dataset,
        output_statistics_output_dataset,
    )

    from trust_assets.lib.registry.products import product

    meta = product(out.product)  # KeyError names the known products
    namespace, name = dataset_identity(out.location or paths.published_product(out.product))
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(int(out.version)), producer=PRODUCER),
        "symlinks": symlink(PUBLISHED_SYMLINK_NAMESPACE, out.product),
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description=out.description or meta.description, contentType="text/plain", producer=PRODUCER),
    }
    if out.schema is not None:
        facets["schema"] = schema_facet(out.schema, out.column_descriptions)
    if out.column_lineage:
        facets["columnLineage"] = column_lineage_facet(out.column_lineage, resolve)
    if out.policy_version is not None:
        facets[DISCLOSURE_FACET] = disclosure_facet(out.policy_version, out.suppressed, out.protection)
    output_facets: dict[str, Any] = {}
    if out.row_count is not None or out.size_bytes is not None:
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=out.row_count, size=out.size_bytes, producer=PRODUCER)
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=output_facets)


def _seed_datasets(paths: TrustPaths) -> dict[str, tuple[str, str]]:
    """Reference seeds by their column-lineage key (``seed:<name>``), as the dbt model events name them."""
    from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage, warehouse_dataset

    graph = load_dbt_lineage()
    if graph is None:
        return {}
    return {str(graph.key(s)): warehouse_dataset(paths, graph.relation(s)) for s in graph.seeds()}


def build_event(paths: TrustPaths, step: StepRun, event_type: str, *, outputs: Sequence[PublishedOutput] = (),
                error: BaseException | str | None = None, event_time: str | None = None,
                datasets_out: Sequence[Any] = ()) -> dict[str, Any]:
    """One RunEvent as a plain dict (serialised by openlineage-python), not yet validated or written.

    Inputs are the step's source reads and ``step.datasets``; outputs the published products and
    ``datasets_out`` (``datasets.Dataset``).
    """
    from openlineage.client.event_v2 import Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run
    from openlineage.client.serde import Serde

    from trust_assets.lib.evaluation.lineage.datasets import input_dataset, output_dataset

    run_facets = _run_facets(step)
    if error is not None:
        if isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
            stack = "".join(traceback.format_exception(error))
        else:
            message, stack = str(error), None
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=message, programmingLanguage="python", stackTrace=stack, producer=PRODUCER)
    resolve = {
        r.key: dataset_identity(source_location(paths, r)) for r in step.inputs
    } | {  # sources not read in this step can still be named by column lineage
        t.key: dataset_identity(paths.source_table(t.dept, t.table))
        for t in SOURCE_TABLES if t.key not in {r.key for r in step.inputs}
    }
    if any(key.startswith("seed:") for out in outputs for entries in out.column_lineage.values()
           for key, *_ in entries):
        resolve |= _seed_datasets(paths)
    inputs = _source_inputs(paths, step.inputs)
    inputs += [_candidate_input(paths, out) for out in outputs if out.assertions]
    inputs += [input_dataset(d) for d in step.datasets]
    event = RunEvent(
        eventType=RunState(event_type),
        eventTime=event_time or _now(),
        run=Run(runId=step.run_id, facets=run_facets),
        job=_job(step.job, "ASSET" if step.parent_run_id else "JOB"),  # a root run is the Dagster job
        inputs=inputs,
        outputs=[_product_output(paths, out, resolve) for out in outputs] + [output_dataset(d) for d in datasets_out],
        producer=PRODUCER,
    )
    return Serde.to_dict(event)
