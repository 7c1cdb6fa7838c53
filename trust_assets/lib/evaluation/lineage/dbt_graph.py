"""The dbt project as lineage sees it: datasets, their edges and their columns, from the set-up's compiled manifest.

The lineage events of the dbt models and of publication, and the report's lineage graph, read this one view, so
what an evaluator sees in the graph is what the events say: dbt's own ``depends_on`` edges, never names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from trust_assets.lib.evaluation.lineage.dbt_columns import COLUMN_LINEAGE_FILE, Hop, source_key, to_sources
from trust_assets.lib.paths import DBT_LINEAGE_DIR, DBT_PROJECT_DIR, TrustPaths

#: Key prefix naming a dbt seed (reference data) in column lineage; department tables use ``dept/table``.
SEED_PREFIX = "seed:"
#: Columns publication adds after the mart: the reason column and one status column per measure.
SUPPRESSION_COLUMN = "suppression"
STATUS_SUFFIX = "_status"


@dataclass(frozen=True)
class DbtLineage:
    """The compiled manifest's nodes and the traced column hops."""

    nodes: Mapping[str, Mapping[str, Any]]
    hops: Mapping[str, Mapping[str, list[Hop]]]

    def model_id(self, name: str) -> str:
        for node_id, node in self.nodes.items():
            if node.get("resource_type") == "model" and node.get("name") == name:
                return node_id
        raise KeyError(f"model {name!r} not in the dbt manifest")

    def models(self) -> list[str]:
        return sorted(k for k, n in self.nodes.items() if n.get("resource_type") == "model")

    def parents(self, node_id: str) -> list[str]:
        return [p for p in (self.nodes[node_id].get("depends_on") or {}).get("nodes", []) if p in self.nodes]

    def edges(self) -> list[tuple[str, str]]:
        """(parent, child) for every model's dbt dependency."""
        return sorted((parent, model) for model in self.models() for parent in self.parents(model))

    def descriptions(self, node_id: str) -> dict[str, str]:
        columns = self.nodes[node_id].get("columns") or {}
        return {name: str(c.get("description") or "") for name, c in columns.items() if c.get("description")}

    def description(self, node_id: str) -> str:
        return " ".join(str(self.nodes[node_id].get("description") or "").split())

    def key(self, node_id: str) -> str | None:
        """The column-lineage key of a leaf: ``dept/table`` for a department source, ``seed:<name>`` for a seed."""
        node = self.nodes[node_id]
        if node.get("resource_type") == "source":
            return source_key(node)
        if node.get("resource_type") == "seed":
            return SEED_PREFIX + str(node.get("name"))
        return None

    def seeds(self) -> list[str]:
        return sorted(k for k, n in self.nodes.items() if n.get("resource_type") == "seed")

    def relation(self, node_id: str) -> str:
        node = self.nodes[node_id]
        return ".".join(str(node.get(p) or "") for p in ("database", "schema")) + "." + str(
            node.get("alias") or node.get("name"))

    def to_leaves(self, model: str, column: str) -> list[tuple[str, str, str]]:
        """A model column back to department and reference columns: ``[(key, column, subtype)]``."""
        out = set()
        for leaf, leaf_col, subtype in to_sources(self.hops, self.nodes, self.model_id(model), column):
            key = self.key(leaf)
            if key is not None:
                out.add((key, leaf_col, "IDENTITY" if subtype == "NAME" else subtype))
        return sorted(out)

    def published_lineage(self, product: str, columns: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        """Every published column back to its sources. Columns publication adds are derived from the measures:
        ``<m>_status`` from ``<m>``, ``suppression`` from every measure, both CONDITIONAL (disclosure control)."""
        columns = list(columns)
        mart = set(self.hops.get(self.model_id(product), {}))
        result: dict[str, list[tuple[str, str, str]]] = {}
        for column in columns:
            if column in mart:
                result[column] = self.to_leaves(product, column)
        measures = [c[: -len(STATUS_SUFFIX)] for c in columns if c.endswith(STATUS_SUFFIX)]
        for column in columns:
            if column in mart:
                continue
            if column.endswith(STATUS_SUFFIX) and column[: -len(STATUS_SUFFIX)] in mart:
                basis = [column[: -len(STATUS_SUFFIX)]]
            elif column == SUPPRESSION_COLUMN:
                basis = [m for m in measures if m in mart] or [c for c in columns if c in mart]
            else:
                continue
            result[column] = sorted({(k, c, "CONDITIONAL") for b in basis for k, c, _ in result.get(b, [])})
        return {c: v for c, v in result.items() if v}


def warehouse_dataset(paths: TrustPaths, relation: str) -> tuple[str, str]:
    """OpenLineage identity of a DuckDB relation: namespace ``duckdb://<warehouse file>``, name ``db.schema.t``.

    The in-memory ``run_scratch`` database is attached to the warehouse connection, so it shares the namespace.
    """
    return f"duckdb://{paths.warehouse.resolve()}", relation


@cache
def _load(directory: str, stamp: float) -> DbtLineage:
    base = Path(directory)
    manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    hops_path = base / COLUMN_LINEAGE_FILE
    hops = json.loads(hops_path.read_text(encoding="utf-8")) if hops_path.exists() else {}
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    return DbtLineage(nodes=nodes, hops={m: {c: [tuple(h) for h in v] for c, v in cols.items()}
                                         for m, cols in hops.items()})


def load_dbt_lineage(directory: Path | None = None) -> DbtLineage | None:
    """The set-up's compiled view (``DBT_LINEAGE_DIR``), else the parse manifest without column hops, else None."""
    for base in ([directory] if directory else [DBT_LINEAGE_DIR, DBT_PROJECT_DIR / "target"]):
        manifest = base / "manifest.json"
        if manifest.exists():
            return _load(str(base), manifest.stat().st_mtime)
    return None
