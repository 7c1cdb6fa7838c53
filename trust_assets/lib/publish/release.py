"""Publish an audited release: the 'publish' of write–audit–publish, with the provenance analysts can trace.

Commit metadata contract (read by ``trust lineage``, the report and ``--reproduce``), all string values:
``trust.run_id``, ``trust.product``, ``trust.months`` (JSON list of YYYY-MM), ``trust.sources`` (JSON
{dept/table: version}), ``trust.source_commit_times`` (JSON {dept/table: ms epoch}), ``trust.checks`` (JSON list
of {name, passed, severity, description}), ``trust.suppressed`` (JSON {column:reason: cells}),
``trust.policy_version``, ``trust.content_hash``, ``trust.models`` (JSON list of dbt models),
``trust.bytes_read`` and ``trust.source_bytes_total``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trust_assets.lib.months import parse_month, shift_month
from trust_assets.lib.paths import DBT_PROJECT_DIR, TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, Product
from trust_assets.lib.sources.delta_pins import SourcePin


@dataclass(frozen=True)
class PublishResult:
    version: int
    committed: bool
    rows: int
    content_hash: str
    #: (name, Arrow type) of each published column
    columns: tuple[tuple[str, str], ...]


def upstream_models(product_name: str, manifest_path=None) -> list[str]:
    """dbt models that feed a mart, from the prepared manifest's parent map (empty if it is missing)."""
    path = manifest_path or DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        return []
    manifest = json.loads(path.read_text())
    parents = manifest.get("parent_map", {})
    start = f"model.labour_market_trust.{product_name}"
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(parents.get(node, []))
    return sorted(n.split(".")[-1] for n in seen if n.startswith("model."))


def read_bytes(pins: Mapping[str, SourcePin], months: list[str]) -> tuple[int, int]:
    """(bytes of source files the run's months overlap, bytes of every pinned source file)."""
    first = parse_month(min(months))
    last = shift_month(max(months), max(max(p.follow_up_months, default=0) for p in PRODUCTS))
    return (sum(p.bytes_overlapping(first, last) for p in pins.values()),
            sum(p.size_bytes for p in pins.values()))


def publication_metadata(product: Product, pins: Mapping[str, SourcePin], months: list[str],
                         checks: list[dict[str, Any]], suppressed: dict[str, int], policy_version: str
                         ) -> dict[str, Any]:
    bytes_read, bytes_total = read_bytes(pins, months)
    return {
        "trust.sources": {k: p.version for k, p in sorted(pins.items())},
        "trust.source_commit_times": {k: p.commit_time_ms for k, p in sorted(pins.items())},
        "trust.checks": checks,
        "trust.suppressed": suppressed,
        "trust.policy_version": policy_version,
        "trust.models": upstream_models(product.name),
        "trust.bytes_read": str(bytes_read),
        "trust.source_bytes_total": str(bytes_total),
    }


def publish_release(paths: TrustPaths, months: list[str], run_id: str, pins: Mapping[str, SourcePin],
                    checks: Mapping[str, list[dict[str, Any]]] | None = None,
                    log: Callable[[str], None] = print) -> dict[str, PublishResult]:
    """Commit each product's audited candidate months to published/, one idempotent commit per product."""
    from deltalake import DeltaTable

    from trust_assets.lib.publish.commit import read_months, replace_months
    from trust_assets.lib.publish.describe import describe

    results = {}
    for p in PRODUCTS:
        candidate_uri = str(paths.candidate(p.name))
        candidate = DeltaTable(candidate_uri)
        history = candidate.history(limit=1)[0]
        if history.get("trust.run_id") != run_id:
            raise RuntimeError(f"the candidate of {p.name} was last written by run {history.get('trust.run_id')}, "
                               f"not this run {run_id}: refusing to publish a candidate this run did not audit")
        data = read_months(candidate_uri, p.month_column, months)
        suppressed: dict[str, int] = {}
        for cell in (data.column("suppression").to_pylist() if "suppression" in data.column_names else []):
            for pair in (cell or "").split(";"):
                if pair:
                    suppressed[pair] = suppressed.get(pair, 0) + 1
        meta = publication_metadata(p, pins, months, list((checks or {}).get(p.name, [])), suppressed,
                                    history.get("trust.policy_version", ""))
        result = replace_months(str(paths.published_product(p.name)), data, product=p.name,
                                month_column=p.month_column, grain=p.grain, months=months, run_id=run_id,
                                metadata=meta, description=describe(p.name, data.column_names))
        log(f"published {p.name} v{result.version} ({result.rows} rows, {sum(suppressed.values())} cells "
            f"suppressed){'' if result.committed else ' [already committed by this run]'}")
        columns = tuple((f.name, str(f.type)) for f in data.schema)
        results[p.name] = PublishResult(result.version, result.committed, result.rows, result.content_hash, columns)
    return results


def source_reads(pins: Mapping[str, SourcePin], months: list[str]):
    from trust_assets.lib.evaluation.lineage.facets import SourceRead

    first, last = parse_month(min(months)), parse_month(max(months))
    return [SourceRead(key=k, version=p.version, location=p.uri, bytes_read=p.bytes_overlapping(first, last),
                       files_read=len(p.files), rows_read=p.row_count) for k, p in sorted(pins.items())]
