"""Publish an audited release: the 'publish' of write–audit–publish, with the provenance analysts can trace.

Commit metadata contract (read by ``trust lineage``, the report and ``--reproduce``), all string values:
``trust.run_id``, ``trust.product``, ``trust.months`` (JSON list of YYYY-MM), ``trust.sources`` (JSON
{dept/table: version}), ``trust.source_commit_times`` (JSON {dept/table: ms epoch}), ``trust.checks`` (JSON list
of {name, passed, severity, description}), ``trust.suppressed`` (JSON {column:reason: cells}),
``trust.policy_version``, ``trust.protection`` (JSON: cells each protection touched, from the audit:
``lib/audit/disclosure/perturbation.py``), ``trust.content_hash``, ``trust.models`` (JSON list of dbt models),
``trust.bytes_read`` and ``trust.source_bytes_total``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trust_assets.lib.months import parse_month, shift_month
from trust_assets.lib.paths import DBT_PROJECT_DIR, TrustPaths
from trust_assets.lib.publish.releases import ReleaseStep
from trust_assets.lib.registry.products import PRODUCTS, Product
from trust_assets.lib.sources.delta_pins import SourcePin
from trust_assets.lib.storage import delta_table, is_delta_table


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
    """Commit each product's audited candidate months to published/, one idempotent commit per product.

    The release is not complete until its manifest row is recorded (``releases.record_release``, after this).
    """
    from trust_assets.lib.publish.ledger import append_release
    from trust_assets.lib.publish.releases import ensure_manifest, failpoint

    ensure_manifest(paths)  # before the first product commit: a fresh home killed here serves nothing partial
    for p in PRODUCTS:
        candidate_policy_version(paths, p, run_id)
    # The disclosure ledger before any product: a crash before the product commits leaves it claiming more than
    # analysts saw (safe for the differencing check), never less.
    appended = append_release(paths, run_id)
    log(f"release ledger: {appended} cell entries recorded" if appended else
        "release ledger: nothing new to record (already recorded, or no cell changed)")
    results = {}
    for p in PRODUCTS:
        policy = candidate_policy_version(paths, p, run_id)
        base = publication_metadata(p, pins, months, list((checks or {}).get(p.name, [])), {}, policy)
        results[p.name] = publish_product(paths, p, months, run_id, base, log)
        failpoint(f"published-{p.name}")
    return results


def candidate_commit(paths: TrustPaths, p: Product, run_id: str) -> dict[str, Any]:
    """The candidate's latest commit (its metadata); refuses a candidate this run did not audit."""
    history = delta_table(str(paths.candidate(p.name))).history(limit=1)[0]
    if history.get("trust.run_id") != run_id:
        raise RuntimeError(f"the candidate of {p.name} was last written by run {history.get('trust.run_id')}, "
                           f"not this run {run_id}: refusing to publish a candidate this run did not audit")
    return dict(history)


def candidate_policy_version(paths: TrustPaths, p: Product, run_id: str) -> str:
    """The disclosure policy the candidate was protected under; refuses a candidate this run did not audit."""
    return str(candidate_commit(paths, p, run_id).get("trust.policy_version", ""))


def publish_product(paths: TrustPaths, p: Product, months: list[str], run_id: str, base: Mapping[str, Any],
                    log: Callable[[str], None] = print) -> PublishResult:
    """One product's commit: the candidate's months with ``base`` metadata plus its own models and suppression."""
    from trust_assets.lib.publish.commit import read_months, replace_months
    from trust_assets.lib.publish.describe import describe

    protection = candidate_commit(paths, p, run_id).get("trust.protection", "{}")
    data = read_months(str(paths.candidate(p.name)), p.month_column, months)
    suppressed: dict[str, int] = {}
    for cell in (data.column("suppression").to_pylist() if "suppression" in data.column_names else []):
        for pair in (cell or "").split(";"):
            if pair:
                suppressed[pair] = suppressed.get(pair, 0) + 1
    meta = {**base, "trust.suppressed": suppressed, "trust.protection": protection,
            "trust.models": upstream_models(p.name)}
    result = replace_months(str(paths.published_product(p.name)), data, product=p.name,
                            month_column=p.month_column, grain=p.grain, months=months, run_id=run_id,
                            metadata=meta, description=describe(p.name, data.column_names))
    touched = json.loads(protection) if isinstance(protection, str) else dict(protection)
    perturbed = (f", {touched['count_cells_perturbed']:,} of {touched['count_cells_published']:,} counts "
                 f"perturbed by {touched['count_method']}" if "count_cells_perturbed" in touched else "")
    log(f"published {p.name} v{result.version} ({result.rows} rows, {sum(suppressed.values())} cells "
        f"suppressed{perturbed}){'' if result.committed else ' [already committed by this run]'}")
    columns = tuple((f.name, str(f.type)) for f in data.schema)
    return PublishResult(result.version, result.committed, result.rows, result.content_hash, columns)


def source_reads(pins: Mapping[str, SourcePin], months: list[str]):
    from trust_assets.lib.evaluation.lineage.facets import SourceRead

    first, last = parse_month(min(months)), parse_month(max(months))
    return [SourceRead(key=k, version=p.version, location=p.uri, bytes_read=p.bytes_overlapping(first, last),
                       files_read=len(p.files), rows_read=p.row_count) for k, p in sorted(pins.items())]


#: Commit metadata every product of a release shares, copied when recovery completes an interrupted release.
SHARED_METADATA = ("trust.sources", "trust.source_commit_times", "trust.checks", "trust.policy_version",
                   "trust.bytes_read", "trust.source_bytes_total")


def complete_interrupted_release(paths: TrustPaths, steps: Sequence[ReleaseStep] = (),
                                 log: Callable[[str], None] = print) -> str | None:
    """Complete the release a killed run left open, or supersede it; returns what was done (None: nothing open).

    The interrupted run's blocking checks had all passed (publication only starts then), and its candidates are
    what it audited, so the products it did not commit yet are published from those candidates with the same
    provenance, under its run id (commits it already made are recognised and not repeated). If any candidate was
    rewritten since, or a release step refuses, the products go back to the latest complete release instead.
    """
    from trust_assets.lib.publish.releases import ReleaseContext, interrupted_release, record_release, restore_released

    names = [p.name for p in PRODUCTS]
    found = interrupted_release(paths, names)
    if found is None:
        return None
    meta = found.metadata
    months = list(json.loads(meta.get("trust.months", "[]")))
    base = {key: meta[key] for key in SHARED_METADATA if key in meta}
    try:
        results = {p.name: publish_product(paths, p, months, found.run_id, base, log) for p in PRODUCTS}
        record_release(ReleaseContext(
            paths=paths, run_id=found.run_id, months=tuple(months),
            products={name: r.version for name, r in results.items()},
            pins={k: int(v) for k, v in json.loads(meta.get("trust.sources", "{}")).items()},
            checks=tuple(json.loads(meta.get("trust.checks", "[]"))), log=log), steps, note="completed by recovery")
    except Exception as exc:  # any reason the release cannot be completed: supersede it, and say why
        restored = restore_released(paths, names, reason=f"superseded interrupted release {found.run_id}: {exc}")
        _lineage(paths, found.run_id, {}, meta, log, error=str(exc))
        return (f"could not complete interrupted release {found.run_id} ({exc}); restored "
                + (", ".join(f"{n} to v{v}" for n, v in sorted(restored.items())) or "nothing")
                + " (the latest complete release)")
    _lineage(paths, found.run_id, results, meta, log)
    return (f"completed interrupted release {found.run_id} ({', '.join(months)}): it had committed "
            f"{', '.join(sorted(found.committed))}; published the rest from its audited candidates")


def _lineage(paths: TrustPaths, run_id: str, results: Mapping[str, PublishResult], meta: Mapping[str, str],
             log: Callable[[str], None], error: str | None = None) -> None:
    """OpenLineage for a recovered release; a failure to write it is reported, never undoes the recovery."""
    from trust_assets.lib.publish.lineage import recovered_release_lineage

    try:
        recovered_release_lineage(paths, run_id, results, meta, error)
    except Exception as exc:  # the release is complete (or restored) whatever lineage says
        log(f"could not write the OpenLineage events of recovered release {run_id}: {type(exc).__name__}: {exc}")


def last_release_sources(paths: TrustPaths) -> dict[str, int] | None:
    """The source versions the latest complete release read: its release manifest row's pins (a product commit of
    an interrupted release is not what analysts were given), or None before the first release. Homes from before
    the manifest: the newest product commit's ``trust.sources``. What a retraction is judged against."""
    from trust_assets.lib.publish.releases import has_manifest, latest_release

    if has_manifest(paths):
        release = latest_release(paths)
        return None if release is None else {k: int(v) for k, v in release.pins.items()}
    newest: tuple[int, dict[str, int]] | None = None
    for p in PRODUCTS:
        uri = str(paths.published_product(p.name))
        if not is_delta_table(uri):
            continue
        for entry in delta_table(uri).history(limit=5):
            if "trust.sources" in entry:
                stamp = int(entry.get("timestamp", 0))
                if newest is None or stamp > newest[0]:
                    newest = (stamp, {k: int(v) for k, v in json.loads(entry["trust.sources"]).items()})
                break
    return newest[1] if newest else None
