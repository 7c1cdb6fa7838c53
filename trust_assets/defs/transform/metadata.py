"""What the dbt step adds to dagster-dbt's events: failed-check facts, row counts and column lineage.

dagster-dbt's check result for a failed test carries only ``dagster_dbt/failed_row_count``, and its model
materializations no row count and no column lineage (``fetch_row_counts`` and ``fetch_column_metadata`` query the
warehouse while dbt still holds it, which DuckDB's one writer forbids). So the step holds back the failed checks
and the warehouse tables' materializations until dbt exits, then reads the facts from the warehouse
(``lib/transform/warehouse_facts.py``) and yields them enriched. Column lineage comes from the hops the set-up
traced with sqlglot (``dbt_project/target/lineage/column_lineage.json``), not recomputed at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from trust_assets.lib.transform.warehouse_facts import (
    FailedTest,
    countable,
    read_failures,
    warehouse_row_counts,
)

DbtEvent = dg.Output | dg.AssetCheckResult | dg.AssetMaterialization | dg.AssetObservation | Any


def unique_id_of(event: Any) -> str | None:
    value = (getattr(event, "metadata", None) or {}).get("unique_id")
    return str(getattr(value, "value", value)) if value is not None else None


def held_back(event: Any, manifest: Mapping[str, Any], counted: bool = True) -> bool:
    """Events to enrich once dbt exits: failed checks, and outputs of models whose rows will be counted then.

    Only models that are tables in the warehouse file are held (``counted`` False, an engine without a warehouse
    file: none). Every event after a held output waits with it (outputs stay in build order), and Dagster records
    each one it is given, so an output held for nothing delays the events behind it to the end of the build: the
    intermediate models in the run's scratch (gone before the counts are read) held 72 of 126 nodes' events, 4.6 s
    recorded after dbt had exited at national scale (docs/benchmarks.md).
    """
    if isinstance(event, dg.AssetCheckResult):
        return not event.passed
    if isinstance(event, dg.Output) and counted:
        node = manifest.get("nodes", {}).get(unique_id_of(event) or "", {})
        # Seeds come first in the build: holding them would hold back every later event of the build.
        return node.get("resource_type") == "model" and countable(node)
    return False


def failure_metadata(facts: FailedTest) -> dict[str, Any]:
    """A failed check's metadata: what a data engineer reads first (month, rule, share, limit), then examples."""
    metadata: dict[str, Any] = {
        "months": ", ".join(facts.months),
        "rule": facts.rule,
        "limit": facts.limit,
        "failing rows": facts.failed_rows,
    }
    if facts.failing_share is not None:
        metadata["failing share"] = dg.MetadataValue.float(round(facts.failing_share, 6))
        metadata["failing share (of)"] = facts.share_of
    if facts.examples:
        columns = [dg.TableColumn(c, _column_type(facts.examples, c)) for c in facts.columns]
        metadata["example rows"] = dg.MetadataValue.table(
            records=[dg.TableRecord(row) for row in facts.examples], schema=dg.TableSchema(columns=columns))
    if facts.relation:
        metadata["failing rows stored in"] = f"{facts.relation} (trust/warehouse.duckdb)"
    return metadata


def _column_type(rows: list[dict[str, Any]], column: str) -> str:
    value = next((r[column] for r in rows if r.get(column) is not None), None)
    return {bool: "boolean", int: "integer", float: "float"}.get(type(value), "string")


def column_lineage(unique_id: str, hops: Mapping[str, Any], manifest: Mapping[str, Any],
                   key_of: Callable[[Mapping[str, Any]], dg.AssetKey]) -> dg.TableColumnLineage | None:
    """``dagster/column_lineage`` of a model from the set-up's traced hops ({column: [[parent, column, kind]]})."""
    columns = hops.get(unique_id)
    if not columns:
        return None
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column, column_hops in columns.items():
        seen = dict.fromkeys((parent, parent_column) for parent, parent_column, *_ in column_hops if parent in nodes)
        deps[column] = [dg.TableColumnDep(asset_key=key_of(nodes[parent]), column_name=parent_column)
                        for parent, parent_column in seen]
    return dg.TableColumnLineage(deps_by_column=deps)


def load_hops() -> dict[str, Any]:
    import json

    from trust_assets.lib.evaluation.lineage.dbt_columns import COLUMN_LINEAGE_FILE
    from trust_assets.lib.paths import DBT_PROJECT_DIR

    path = Path(DBT_PROJECT_DIR) / "target" / "lineage" / COLUMN_LINEAGE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def with_lineage(event: Any, hops: Mapping[str, Any], manifest: Mapping[str, Any],
                 key_of: Callable[[Mapping[str, Any]], dg.AssetKey]) -> Any:
    """A model's output with its column lineage added (any model the set-up traced)."""
    if not isinstance(event, dg.Output):
        return event
    lineage = column_lineage(unique_id_of(event) or "", hops, manifest, key_of)
    return event.with_metadata({**event.metadata, "dagster/column_lineage": lineage}) if lineage else event


def enrich_held(events: Iterable[Any], warehouse: Path | None, manifest: Mapping[str, Any],
                months: list[str]) -> Iterator[Any]:
    """The held-back events with the warehouse's facts (``warehouse`` None on an engine without one)."""
    events = list(events)
    facts: dict[str, FailedTest] = {}
    counts: dict[str, tuple[int, int | None]] = {}
    if warehouse is not None:
        failed = {unique_id_of(e) or "": _failed_rows(e) for e in events
                  if isinstance(e, dg.AssetCheckResult) and not e.passed}
        facts = _safely(lambda: read_failures(warehouse, manifest, failed, months), {})
        outputs = [unique_id_of(e) or "" for e in events if isinstance(e, dg.Output)]
        counts = _safely(lambda: warehouse_row_counts(warehouse, manifest, outputs, months), {})
    for event in events:
        unique_id = unique_id_of(event) or ""
        if isinstance(event, dg.AssetCheckResult) and unique_id in facts:
            event = event.with_metadata({**failure_metadata(facts[unique_id]), **event.metadata})
        elif isinstance(event, dg.Output) and unique_id in counts:
            total, in_months = counts[unique_id]
            extra: dict[str, Any] = {"dagster/row_count": total}
            if in_months is not None:
                extra["dagster/partition_row_count"] = in_months
            event = event.with_metadata({**event.metadata, **extra})
        yield event


def _failed_rows(event: dg.AssetCheckResult) -> int:
    value: Any = event.metadata.get("dagster_dbt/failed_row_count")
    return int(getattr(value, "value", value) or 0)


def _safely(read: Callable[[], Any], default: Any) -> Any:
    """Facts are a help, never a reason to fail the step: a read that fails leaves dagster-dbt's events as they are."""
    try:
        return read()
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning("warehouse facts not read: %s", exc)
        return default
