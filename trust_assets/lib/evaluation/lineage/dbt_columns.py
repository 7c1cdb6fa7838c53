"""Column lineage of the dbt project, traced with sqlglot over the SQL dbt compiled.

dbt's manifest records which models a model reads (``depends_on.nodes``) but not which columns. The set-up compiles
the project once (``trust_assets.lib.transform.dbt_prepare``: every source pinned to an empty, typed relation, so
no department data is read) and this module traces every output column of every model one hop back to the columns
of the models, seeds and sources it reads. The hops are saved beside the compiled manifest; the lineage events
compose them to the department columns behind each published column.

A hop's subtype follows OpenLineage: ``IDENTITY`` (selected or renamed), ``TRANSFORMATION`` (an expression of
it), ``AGGREGATION`` (an aggregate over it). A staging model reads its source through the ``delta_source`` macro,
which compiles to a derived table, not a table name: columns that end there are attributed to the model's one
source. A column sqlglot cannot trace falls back to same-named columns of the parents, and is said so (``NAME``).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trust_assets.lib.registry.sources import SOURCE_TABLES

log = logging.getLogger(__name__)

#: (upstream unique_id, upstream column, subtype)
Hop = tuple[str, str, str]
#: What the set-up writes beside the compiled manifest: {model unique_id: {column: [hop, ...]}}.
COLUMN_LINEAGE_FILE = "column_lineage.json"
_RANK = {"IDENTITY": 0, "NAME": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}


def _nodes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {**manifest.get("nodes", {}), **manifest.get("sources", {})}


def source_key(node: Mapping[str, Any]) -> str | None:
    """``dept/table`` of a dbt source node when it is a registered department table."""
    key = f"{node.get('source_name')}/{node.get('name')}"
    return key if any(t.key == key for t in SOURCE_TABLES) else None


def _relation_parts(node: Mapping[str, Any]) -> tuple[str, str, str]:
    name = node.get("alias") or node.get("identifier") or node.get("name") or ""
    return str(node.get("database") or "db"), str(node.get("schema") or "main"), str(name)


def _declared_columns(node: Mapping[str, Any], project_dir: Path | None) -> list[str]:
    """Columns of a relation known without tracing: the agreed source schema, a seed's CSV header, the YAML."""
    if node.get("resource_type") == "source":
        key = source_key(node)
        table = next((t for t in SOURCE_TABLES if t.key == key), None)
        if table is not None:
            return [c.name for c in table.columns]
    if node.get("resource_type") == "seed" and project_dir is not None and node.get("original_file_path"):
        path = project_dir / str(node["original_file_path"])
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                return next(csv.reader(handle), [])
    return list((node.get("columns") or {}).keys())


def _topological(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node_id: str) -> None:
        if state.get(node_id) == 2 or node_id not in nodes:
            return
        if state.get(node_id) == 1:
            raise ValueError(f"dbt graph has a cycle through {node_id}")
        state[node_id] = 1
        for parent in (nodes[node_id].get("depends_on") or {}).get("nodes", []):
            visit(parent)
        state[node_id] = 2
        order.append(node_id)

    for node_id in sorted(nodes):
        visit(node_id)
    return order


def _hop_subtype(path: list[Any]) -> str:
    """IDENTITY when every step only selects or renames; AGGREGATION when any step aggregates."""
    from sqlglot import exp

    subtype = "IDENTITY"
    for step in path:
        expression = step.expression
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if inner.find(exp.AggFunc) is not None:
            return "AGGREGATION"
        if not isinstance(inner, exp.Column | exp.Star):
            subtype = "TRANSFORMATION"
    return subtype


def _leaves(root: Any) -> Iterable[tuple[Any, list[Any]]]:
    """Each leaf of a sqlglot lineage tree with the path of nodes from the root to it."""
    stack = [(root, [root])]
    while stack:
        node, path = stack.pop()
        if not node.downstream:
            yield node, path
        for child in node.downstream:
            stack.append((child, [*path, child]))


def _trace_column(column: str, expression: Any, schema: Any, scope: Any, aliases: Mapping[str, str],
                  only_source: str | None) -> set[Hop]:
    from sqlglot import exp
    from sqlglot.lineage import lineage

    hops: set[Hop] = set()
    root = lineage(column, expression, schema, dialect="duckdb", scope=scope, copy=False)
    for leaf, path in _leaves(root):
        name = leaf.name.split(".")[-1].strip('"')
        if isinstance(leaf.source, exp.Table):
            parent = aliases.get(leaf.source.name.lower())
            if parent is not None:
                hops.add((parent, name, _hop_subtype(path[:-1])))  # the leaf is the table itself
        elif _counts_rows(leaf.expression):
            hops |= {(p, c, "AGGREGATION") for p, c, _ in _grouping_hops(leaf.source, expression, schema, aliases,
                                                                          only_source)}
        elif only_source is not None and isinstance(leaf.expression, exp.Alias | exp.Column):
            # the delta_source macro's derived table: its columns are the source's columns
            hops.add((only_source, name, _hop_subtype(path[:-1])))
    return hops


def _counts_rows(expression: Any) -> bool:
    """``count(*)``: an aggregate of rows, not of a column."""
    from sqlglot import exp

    agg = expression.find(exp.AggFunc)
    return agg is not None and agg.find(exp.Column) is None


def _grouping_hops(select: Any, model: Any, schema: Any, aliases: Mapping[str, str],
                   only_source: str | None) -> set[Hop]:
    """A row count depends on the rows of each group: trace the GROUP BY keys of the select that counts."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import build_scope

    group = select.args.get("group")
    if group is None or not isinstance(select, exp.Select):
        return set()
    keys = [f"trust_group_key_{i}" for i in range(len(group.expressions))]
    query = select.copy()
    query.set("expressions", [exp.alias_(k.copy(), name) for k, name in zip(group.expressions, keys, strict=True)])
    if model.args.get("with_") is not None:
        query.set("with_", model.args["with_"].copy())
    scope = build_scope(query)
    hops: set[Hop] = set()
    for name in keys:
        hops |= _trace_column(name, query, schema, scope, aliases, only_source)
    return hops


def _aliases(nodes: Mapping[str, Mapping[str, Any]], node_id: str) -> dict[str, str]:
    out = {}
    for parent in (nodes[node_id].get("depends_on") or {}).get("nodes", []):
        if parent in nodes:
            out[_relation_parts(nodes[parent])[2].lower()] = parent
    return out


def _trace_model(nodes: Mapping[str, Mapping[str, Any]], node_id: str, schema: dict[str, Any],
                 declared: list[str]) -> tuple[list[str], dict[str, list[Hop]]]:
    """The model's output columns and each column's hops."""
    from sqlglot import parse_one
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    node = nodes[node_id]
    parents = [p for p in (node.get("depends_on") or {}).get("nodes", []) if p in nodes]
    sources = [p for p in parents if nodes[p].get("resource_type") == "source"]
    only_source = sources[0] if len(sources) == 1 else None
    aliases = _aliases(nodes, node_id)
    expression: Any = qualify(parse_one(node["compiled_code"], dialect="duckdb"), schema=schema,
                              dialect="duckdb", validate_qualify_columns=False, identify=False)
    columns = [c for c in expression.named_selects if c != "*"] or declared
    scope = build_scope(expression)
    traced: dict[str, list[Hop]] = {}
    for column in columns:
        try:
            hops = _trace_column(column, expression, schema, scope, aliases, only_source)
        except Exception as exc:  # an expression sqlglot cannot follow: fall back to names, said so
            log.debug("sqlglot could not trace %s.%s: %s", node_id, column, exc)
            hops = set()
        if not hops:
            hops = {(p, column, "NAME") for p in parents if column in schema_columns(schema, nodes[p])}
        traced[column] = sorted(hops)
    return columns, traced


def schema_columns(schema: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    db, sch, table = _relation_parts(node)
    return list(schema.get(db, {}).get(sch, {}).get(table, {}))


def trace_manifest(manifest: Mapping[str, Any], project_dir: Path | None = None) -> dict[str, dict[str, list[Hop]]]:
    """One hop back for every column of every compiled model: ``{model id: {column: [(parent, column, subtype)]}}``.

    Models are traced parents first, so a ``select *`` over a parent expands to the columns traced for it.
    """
    nodes = _nodes(manifest)
    schema: dict[str, Any] = {}
    result: dict[str, dict[str, list[Hop]]] = {}
    for node_id in _topological(nodes):
        node = nodes[node_id]
        kind = node.get("resource_type")
        declared = _declared_columns(node, project_dir)
        columns = declared
        if kind == "model" and node.get("compiled_code"):
            try:
                columns, result[node_id] = _trace_model(nodes, node_id, schema, declared)
            except Exception as exc:  # unparsable SQL: the model keeps its declared columns, untraced
                log.warning("cannot trace columns of %s: %s", node_id, exc)
        elif kind not in ("source", "seed", "model"):
            continue
        if columns:
            db, sch, table = _relation_parts(node)
            schema.setdefault(db, {}).setdefault(sch, {})[table] = {c: "text" for c in columns}
    return result


def _worse(a: str, b: str) -> str:
    return a if _RANK.get(a, 1) >= _RANK.get(b, 1) else b


def to_sources(hops: Mapping[str, Mapping[str, list[Hop]]], nodes: Mapping[str, Mapping[str, Any]], model_id: str,
               column: str) -> set[Hop]:
    """Compose hops back to the leaves (sources and seeds): ``{(leaf id, column, subtype)}``."""
    found: set[Hop] = set()
    stack: list[tuple[str, str, str, int]] = [(model_id, column, "IDENTITY", 0)]
    seen: set[tuple[str, str, str]] = set()
    while stack:
        node_id, col, subtype, depth = stack.pop()
        if (node_id, col, subtype) in seen or depth > 50:
            continue
        seen.add((node_id, col, subtype))
        model_hops = hops.get(node_id)
        if model_hops is None:
            if node_id in nodes and nodes[node_id].get("resource_type") in ("source", "seed"):
                found.add((node_id, col, subtype))
            continue
        for parent, parent_col, hop_subtype in model_hops.get(col, []):
            stack.append((parent, parent_col, _worse(subtype, hop_subtype), depth + 1))
    return found


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def column_lineage_from_dbt(manifest: Mapping[str, Any] | Path, model: str, columns: Iterable[str] | None = None,
                            hops: Mapping[str, Mapping[str, list[Hop]]] | None = None
                            ) -> dict[str, list[tuple[str, str, str]]]:
    """A model's columns back to department columns: ``{column: [(dept/table, column, subtype)]}``.

    ``hops`` are the saved one-hop traces (traced here when not given). Seeds (reference data) are not department
    tables and are left out here; ``to_sources`` keeps them.
    """
    data = load_manifest(manifest) if isinstance(manifest, Path) else manifest
    nodes = _nodes(data)
    target = next((k for k, n in data.get("nodes", {}).items()
                   if n.get("resource_type") == "model" and n.get("name") == model), None)
    if target is None:
        raise KeyError(f"model {model!r} not in the dbt manifest")
    hops = hops if hops is not None else trace_manifest(data)
    wanted = list(columns) if columns is not None else list(hops.get(target, {}))
    result: dict[str, list[tuple[str, str, str]]] = {}
    for column in wanted:
        found = set()
        for leaf, leaf_col, subtype in to_sources(hops, nodes, target, column):
            key = source_key(nodes[leaf])
            if key is not None:
                found.add((key, leaf_col, "IDENTITY" if subtype == "NAME" else subtype))
        if found:
            result[column] = sorted(found)
    return result
