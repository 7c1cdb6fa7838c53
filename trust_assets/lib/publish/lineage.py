"""What publication tells OpenLineage: each published version with its schema (the dbt YAML's descriptions), the
audit's assertions, disclosure control, and the lineage of every published column back to the department and
reference columns it comes from (traced through dbt's compiled SQL at set-up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.sources.delta_pins import SourcePin
from trust_assets.lib.storage import delta_table

#: Descriptions of the columns publication adds to a mart's (disclosure control's reason and status columns).
ADDED_COLUMNS = {
    "suppression": "Why cells of this row are hidden: 'column:reason' pairs joined by ';' (empty when none).",
}
STATUS_DESCRIPTION = "Status of {measure}: published, suppressed_<reason>, not_yet_observable or not_applicable."


def column_lineage(product_name: str, columns: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Every published column back to source columns, from the set-up's compiled manifest (empty without it)."""
    from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage

    graph = load_dbt_lineage()
    if graph is None:
        return {}
    try:
        return graph.published_lineage(product_name, columns)
    except KeyError:
        return {}


def column_descriptions(product_name: str, columns: list[str]) -> dict[str, str]:
    """The mart's YAML column descriptions, and what publication's own columns mean."""
    from trust_assets.lib.evaluation.lineage.dbt_graph import STATUS_SUFFIX, load_dbt_lineage

    graph = load_dbt_lineage()
    described: dict[str, str] = {}
    if graph is not None:
        try:
            described = graph.descriptions(graph.model_id(product_name))
        except KeyError:
            described = {}
    out = {}
    for column in columns:
        if column in described:
            out[column] = described[column]
        elif column in ADDED_COLUMNS:
            out[column] = ADDED_COLUMNS[column]
        elif column.endswith(STATUS_SUFFIX):
            out[column] = STATUS_DESCRIPTION.format(measure=column[: -len(STATUS_SUFFIX)])
    return out


def publication_outputs(paths: TrustPaths, results: Mapping[str, Any], checks: Mapping[str, list[dict[str, Any]]],
                        policy_version: str) -> list[Any]:
    """The publish step's outputs: the published versions, with the audited candidates as inputs."""
    import pyarrow as pa

    from trust_assets.lib.evaluation.lineage.facets import PublishedOutput

    outputs = []
    for p in PRODUCTS:
        uri = str(paths.published_product(p.name))
        table = delta_table(uri, version=results[p.name].version)
        schema = pa.schema(table.schema().to_arrow())
        entry = table.history(limit=1)[0]
        outputs.append(PublishedOutput(
            product=p.name, version=results[p.name].version, row_count=results[p.name].rows,
            size_bytes=sum(pa.table(table.get_add_actions(flatten=True)).column("size_bytes").to_pylist()),
            schema=schema, column_lineage=column_lineage(p.name, schema.names),
            column_descriptions=column_descriptions(p.name, schema.names),
            assertions=[{"assertion": c["name"], "success": bool(c["passed"]), "severity": c.get("severity")}
                        for c in checks.get(p.name, [])],
            candidate_location=str(paths.candidate(p.name)), policy_version=policy_version,
            suppressed=json.loads(entry.get("trust.suppressed", "{}")),
            protection=json.loads(entry.get("trust.protection", "{}")),
        ))
    return outputs


def pin_locations(pins: Mapping[str, SourcePin]) -> dict[str, str]:
    return {key: pin.uri for key, pin in pins.items()}


def audit_inputs(paths: TrustPaths) -> list[Any]:
    """The audit reads the marts (DuckDB relations), described by dbt's YAML."""
    from trust_assets.lib.evaluation.lineage.datasets import Dataset
    from trust_assets.lib.evaluation.lineage.dbt_events import model_dataset
    from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage, warehouse_dataset

    graph = load_dbt_lineage()
    out = []
    for p in PRODUCTS:
        try:
            full = model_dataset(paths, graph, graph.model_id(p.name)) if graph else None
        except KeyError:
            full = None
        if full is None:
            out.append(Dataset(*warehouse_dataset(paths, f"warehouse.main.{p.name}")))
        else:  # an input names its columns; its lineage is the dbt model's event's business
            out.append(Dataset(full.namespace, full.name, columns=full.columns, description=full.description))
    return out


def candidate_outputs(paths: TrustPaths, versions: Mapping[str, int], checks: Mapping[str, list[Any]]) -> list[Any]:
    """The release candidates the audit wrote, each at its Delta version."""
    from trust_assets.lib.evaluation.lineage.datasets import Dataset
    from trust_assets.lib.evaluation.lineage.facets import CANDIDATE_SYMLINK_NAMESPACE, dataset_identity

    out = []
    for p in PRODUCTS:
        namespace, name = dataset_identity(paths.candidate(p.name))
        version = versions.get(p.name)
        passed = sum(1 for c in checks.get(p.name, []) if c.passed)
        out.append(Dataset(namespace, name, version=None if version is None else str(int(version)),
                           symlink=(CANDIDATE_SYMLINK_NAMESPACE, p.name),
                           description=f"Release candidate of {p.name}: {passed} of "
                           f"{len(checks.get(p.name, []))} checks passed."))
    return out


#: The Dagster job a release belongs to (defs/jobs.py MONTHLY_JOB; lib cannot import defs): the parent job of a
#: recovered release's publish event, as of the publish step's own.
RELEASE_JOB = "monthly_products"


def recovered_release_lineage(paths: TrustPaths, run_id: str, results: Mapping[str, Any], meta: Mapping[str, str],
                              error: str | None = None) -> None:
    """What recovery tells OpenLineage about an interrupted release it completed (or superseded): the publish
    stage of that release's run (parent run = the release id) COMPLETE with every published version, and the run's
    COMPLETE; or, when it was superseded, the run's FAIL with why. The killed run never wrote either."""
    from trust_assets.lib.evaluation.lineage.facets import SourceRead
    from trust_assets.lib.evaluation.lineage.stages import PUBLISH_JOB, run_ended, stage
    from trust_assets.lib.evaluation.lineage.transport import LineageEmitter

    emitter = LineageEmitter(paths)
    if error is not None:
        run_ended(emitter, run_id, RELEASE_JOB, f"{PUBLISH_JOB}: interrupted release superseded by recovery: {error}")
        return
    pins = {k: int(v) for k, v in json.loads(meta.get("trust.sources", "{}")).items()}
    checks = list(json.loads(meta.get("trust.checks", "[]")))
    with stage(emitter, PUBLISH_JOB, run_id, RELEASE_JOB, ends_run=True,
               inputs=[SourceRead(key=k, version=v) for k, v in sorted(pins.items())]) as step:
        step.outputs = publication_outputs(paths, results, {p.name: checks for p in PRODUCTS},
                                           str(meta.get("trust.policy_version", "")))
