"""Column lineage of a dbt model, traced from dbt's manifest with sqlglot (best effort)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trust_assets.lib.evaluation.lineage.validation import load_json
from trust_assets.lib.registry.sources import SOURCE_TABLES, source_table

log = logging.getLogger(__name__)


def column_lineage_from_dbt(manifest: Mapping[str, Any] | Path, model: str,
                            columns: Iterable[str] | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Best-effort column lineage for a dbt model, from dbt's ``manifest.json``.

    dbt records model-level dependencies (``depends_on.nodes``) but not column-level ones, so this walks the
    model's upstream graph to its sources, then, for each product column, uses sqlglot (installed with dbt) on the
    compiled SQL of each model to trace the column back through the staging and intermediate models. When the
    SQL cannot be traced (not compiled, or an expression sqlglot cannot follow) it falls back to source columns of
    the same name. Source nodes are mapped to sources.py keys by ``source_name/name`` (``dwp/uc_claims``).
    Subtypes: ``IDENTITY`` for a renamed/selected column, ``TRANSFORMATION`` for an expression, ``AGGREGATION``
    when the traced path goes through an aggregate function.
    """
    data = load_json(manifest) if isinstance(manifest, Path) else manifest
    nodes = {**data.get("nodes", {}), **data.get("sources", {})}
    target = next((k for k, n in data.get("nodes", {}).items()
                   if n.get("resource_type") == "model" and n.get("name") == model), None)
    if target is None:
        raise KeyError(f"model {model!r} not in the dbt manifest")
    node = nodes[target]
    wanted = list(columns) if columns is not None else list((node.get("columns") or {}).keys())

    result: dict[str, list[tuple[str, str, str]]] = {}
    for column in wanted:
        found: set[tuple[str, str, str]] = set()
        try:
            _trace(nodes, target, column, "IDENTITY", found, depth=0)
        except Exception as exc:  # best effort: fall back to name matching below
            log.debug("sqlglot could not trace %s.%s: %s", model, column, exc)
            found = set()
        if not found:
            for source_id in _upstream_sources(nodes, target):
                key = _source_key(nodes[source_id])
                if key and column in {c.name for c in _known_columns(key)}:
                    found.add((key, column, "IDENTITY"))
        if found:
            result[column] = sorted(found)
    return result


def _source_key(node: Mapping[str, Any]) -> str | None:
    key = f"{node.get('source_name')}/{node.get('name')}"
    return key if any(t.key == key for t in SOURCE_TABLES) else None


def _known_columns(key: str) -> tuple[Any, ...]:
    return source_table(key).columns


def _upstream_sources(nodes: Mapping[str, Any], start: str) -> set[str]:
    seen, stack, found = set(), [start], set()
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        if nodes[current].get("resource_type") == "source":
            found.add(current)
        stack.extend((nodes[current].get("depends_on") or {}).get("nodes", []))
    return found


def _relation_aliases(nodes: Mapping[str, Any], node_id: str) -> dict[str, str]:
    """Lower-case table name as it appears in compiled SQL -> upstream node id."""
    out = {}
    for parent in (nodes[node_id].get("depends_on") or {}).get("nodes", []):
        if parent in nodes:
            p = nodes[parent]
            for name in {p.get("alias"), p.get("name"), p.get("identifier")} - {None}:
                out[str(name).lower()] = parent
    return out


def _trace(nodes: Mapping[str, Any], node_id: str, column: str, subtype: str,
           found: set[tuple[str, str, str]], depth: int) -> None:
    if depth > 20:
        raise RecursionError("dbt graph deeper than 20 models")
    node = nodes[node_id]
    if node.get("resource_type") == "source":
        key = _source_key(node)
        if key:
            found.add((key, column, subtype))
        return
    sql = node.get("compiled_code")
    if not sql:
        raise ValueError(f"{node_id} has no compiled_code (run dbt compile)")
    from sqlglot import exp
    from sqlglot.lineage import lineage

    root = lineage(column, sql, {}, dialect="duckdb")
    aliases = _relation_aliases(nodes, node_id)
    for leaf in root.walk():
        if leaf.downstream:
            continue
        source = leaf.source
        if not isinstance(source, exp.Table):
            continue
        parent = aliases.get(source.name.lower())
        if parent is None:
            continue
        path_subtype = subtype
        if any(isinstance(n.expression, exp.Alias) and n.expression.find(exp.AggFunc) for n in root.walk()):
            path_subtype = "AGGREGATION"
        elif subtype == "IDENTITY" and not isinstance(root.expression.unalias() if isinstance(
                root.expression, exp.Alias) else root.expression, exp.Column):
            path_subtype = "TRANSFORMATION"
        _trace(nodes, parent, leaf.name.split(".")[-1], path_subtype, found, depth + 1)
