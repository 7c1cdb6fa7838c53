"""One OpenLineage job per dbt model, from the run's ``run_results.json``: START and COMPLETE or FAIL at the times
dbt ran it, its parents (dbt's ``depends_on``) as inputs, its relation as output with the YAML's column
descriptions and each column's lineage one hop back (traced at set-up, ``dbt_columns``). The dbt step is the
parent of each model's run, as the Dagster run is the parent of the dbt step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trust_assets.lib.evaluation.lineage.datasets import Dataset
from trust_assets.lib.evaluation.lineage.dbt_graph import DbtLineage, warehouse_dataset
from trust_assets.lib.evaluation.lineage.facets import StepRun, dataset_identity
from trust_assets.lib.evaluation.lineage.stages import DBT_MODEL_JOB
from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import source_table

#: dbt statuses of a node that ran and failed
FAILED = frozenset({"error", "fail", "runtime error"})


def node_identity(paths: TrustPaths, graph: DbtLineage, node_id: str,
                  source_locations: Mapping[str, str] | None = None) -> tuple[str, str]:
    """A department source as its Delta table, a seed or model as its DuckDB relation."""
    node = graph.nodes[node_id]
    if node.get("resource_type") == "source":
        key = graph.key(node_id)
        if key:
            location = (source_locations or {}).get(key)
            if location:
                return dataset_identity(location)
            table = source_table(key)
            return dataset_identity(paths.source_table(table.dept, table.table))
    return warehouse_dataset(paths, graph.relation(node_id))


def model_dataset(paths: TrustPaths, graph: DbtLineage, node_id: str,
                  source_locations: Mapping[str, str] | None = None) -> Dataset:
    """The model's relation with its columns, their descriptions and their one-hop lineage."""
    node = graph.nodes[node_id]
    declared = node.get("columns") or {}
    hops = graph.hops.get(node_id, {})
    names = list(hops) or list(declared)
    columns = tuple((name, str((declared.get(name) or {}).get("data_type") or ""),
                     str((declared.get(name) or {}).get("description") or "")) for name in names)
    lineage = {}
    for column, column_hops in hops.items():
        entries = [(*node_identity(paths, graph, parent, source_locations), parent_col,
                    "IDENTITY" if subtype == "NAME" else subtype)
                   for parent, parent_col, subtype in column_hops if parent in graph.nodes]
        if entries:
            lineage[column] = entries
    namespace, name = node_identity(paths, graph, node_id)
    return Dataset(namespace=namespace, name=name, columns=columns, description=graph.description(node_id) or None,
                   column_lineage=lineage)


def _parent_dataset(paths: TrustPaths, graph: DbtLineage, node_id: str,
                    source_locations: Mapping[str, str] | None) -> Dataset:
    namespace, name = node_identity(paths, graph, node_id, source_locations)
    return Dataset(namespace=namespace, name=name)


def _time(value: Any) -> str | None:
    text = str(value or "")
    if not text:
        return None
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _timing(result: Mapping[str, Any]) -> tuple[str | None, str | None]:
    timing = [t for t in result.get("timing") or [] if t.get("started_at")]
    if not timing:
        return None, None
    return _time(timing[0].get("started_at")), _time(timing[-1].get("completed_at"))


def emit_model_events(emitter: LineageEmitter, graph: DbtLineage, run_results: Mapping[str, Any],
                      parent: StepRun, source_locations: Mapping[str, str] | None = None) -> list[str]:
    """Events for every model dbt ran (skipped ones have none); returns the failures' messages."""
    failures = []
    for result in run_results.get("results") or []:
        node_id = str(result.get("unique_id", ""))
        status = str(result.get("status", "")).lower()
        if node_id not in graph.nodes:
            continue
        if not node_id.startswith("model."):
            if status in FAILED:
                failures.append(f"{node_id.split('.')[-1]}: {' '.join(str(result.get('message') or status).split())}")
            continue
        if status == "skipped":
            continue
        started, ended = _timing(result)
        inputs = [_parent_dataset(emitter.paths, graph, p, source_locations) for p in graph.parents(node_id)]
        step = emitter.run_started(DBT_MODEL_JOB.format(model=graph.nodes[node_id].get("name")),
                                   parent_run_id=parent.run_id, parent_job=parent.job, datasets=inputs,
                                   event_time=started)
        output = [model_dataset(emitter.paths, graph, node_id, source_locations)]
        if status in FAILED:
            message = " ".join(str(result.get("message") or status).split())
            failures.append(f"{graph.nodes[node_id].get('name')}: {message}")
            emitter.run_failed(step, f"dbt model {graph.nodes[node_id].get('name')} failed: {message}",
                               event_time=ended, datasets_out=output)
        else:
            emitter.run_completed(step, event_time=ended, datasets_out=output)
    return failures


def dbt_stage_inputs(paths: TrustPaths, graph: DbtLineage | None, source_locations: Mapping[str, str]
                     ) -> Sequence[Dataset]:
    """The dbt step reads the pinned department tables and the reference seeds."""
    if graph is None:
        return ()
    leaves = [n for n, node in graph.nodes.items() if node.get("resource_type") in ("source", "seed")
              and graph.key(n)]
    return [_parent_dataset(paths, graph, n, source_locations) for n in sorted(leaves)]
