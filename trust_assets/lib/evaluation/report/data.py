"""The records the evaluation report reads, and the figures it shows.

Evaluators ask which source versions fed each published version, what was checked, what disclosure control
removed, how fresh it was, who read it, and how much data moved compared with batch file exchange. Every answer
comes from records the pipeline already keeps: the published Delta tables' commit metadata (the contract the
publish step honours), the access audit, and the OpenLineage events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import product
from trust_assets.lib.storage import delta_table, is_delta_table

#: Audit statuses that mean nothing was served; any other status counts as a read.
DENIED_STATUSES = frozenset({"denied", "forbidden", "unauthorized", "unauthorised", "error", "failed", "rejected",
                             "expired", "revoked", "not_found"})


def json_meta(meta: Mapping[str, Any], key: str, default: Any) -> Any:
    value = meta.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"commit metadata {key!r} is not JSON: {value[:80]!r}") from exc


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ProductVersion:
    """One publish commit of a product, read back from its Delta commit metadata."""

    product: str
    version: int
    published_ms: int
    run_id: str | None = None
    months: tuple[str, ...] = ()
    sources: Mapping[str, int] = field(default_factory=dict)
    source_commit_times: Mapping[str, int] = field(default_factory=dict)
    checks: tuple[Mapping[str, Any], ...] = ()
    suppressed: Mapping[str, int] = field(default_factory=dict)
    #: cells each protection touched (``trust.protection``: lib/audit/disclosure/perturbation.py); {} before it
    protection: Mapping[str, Any] = field(default_factory=dict)
    policy_version: str | None = None
    content_hash: str | None = None
    models: tuple[str, ...] = ()
    bytes_read: int | None = None
    source_bytes_total: int | None = None
    rows: int | None = None
    size_bytes: int | None = None

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.published_ms / 1000, UTC)

    @property
    def newest_source_ms(self) -> int | None:
        return max(self.source_commit_times.values()) if self.source_commit_times else None

    @property
    def latency_ms(self) -> int | None:
        """Publication commit time minus the newest source commit it used: how stale the product was at birth."""
        newest = self.newest_source_ms
        return None if newest is None else self.published_ms - newest

    @property
    def checks_passed(self) -> int:
        return sum(1 for c in self.checks if c.get("passed"))

    @property
    def checks_warned(self) -> int:
        """Failed checks of WARN severity: reported (e.g. rows excluded and counted), never blocking."""
        return sum(1 for c in self.checks if not c.get("passed") and str(c.get("severity", "")).upper() == "WARN")

    @property
    def checks_failed(self) -> int:
        """Failed blocking checks (a published version should have none)."""
        return len(self.checks) - self.checks_passed - self.checks_warned

    @property
    def suppressed_cells(self) -> int:
        return sum(int(v) for v in self.suppressed.values())

    @property
    def perturbed_cells(self) -> int | None:
        """Published counts that differ from their true value (keyed rounding); None when not recorded."""
        value = self.protection.get("count_cells_perturbed")
        return None if value is None else int(value)

    @property
    def cross_release_withheld(self) -> int:
        """Cells the cross-release (differencing) rule withheld."""
        return sum(int(v) for k, v in self.suppressed.items() if k.endswith(":cross_release"))


def version_stats(path: str | Path, version: int) -> tuple[int | None, int | None]:
    """Rows and bytes of a table version from its Delta log (file statistics; no data files are read)."""
    import pyarrow as pa

    actions = pa.table(delta_table(str(path), version=version).get_add_actions(flatten=True))
    size = int(pa.compute.sum(actions["size_bytes"]).as_py() or 0)
    rows = None
    if "num_records" in actions.column_names and actions["num_records"].null_count == 0:
        rows = int(pa.compute.sum(actions["num_records"]).as_py() or 0)
    return rows, size


def released_versions(paths: TrustPaths, name: str) -> set[int] | None:
    """Versions of a product some complete release names; None when the home has no release manifest.

    The manifest's format is owned by lib/publish/releases.py (which imports this package, so it is read here
    directly rather than imported): a Delta table whose ``products`` column holds JSON {product: version}.
    """
    if not is_delta_table(str(paths.releases)):
        return None
    rows = delta_table(str(paths.releases)).to_pyarrow_table(columns=["products"]).column("products").to_pylist()
    return {int(v) for text in rows for k, v in json.loads(text or "{}").items() if k == name}


def product_history(paths: TrustPaths, name: str, *, with_stats: bool = True) -> list[ProductVersion]:
    """Every released publish commit of a product, oldest first.

    Commits without trust metadata (maintenance, restores) are skipped, and so are versions no complete release
    names (an interrupted release, see lib/publish/releases.py) unless the home predates the release manifest.
    An unknown product name raises KeyError naming the known ones; a product never published returns [].
    """
    product(name)
    path = paths.published_product(name)
    if not is_delta_table(path):
        return []
    released = released_versions(paths, name)
    out = []
    for commit in delta_table(path).history():
        if "trust.run_id" not in commit and "trust.product" not in commit:
            continue
        version = int(commit["version"])
        if released is not None and version not in released:
            continue
        rows, size = version_stats(path, version) if with_stats else (None, None)
        out.append(ProductVersion(
            product=name,
            version=version,
            published_ms=int(commit["timestamp"]),
            run_id=commit.get("trust.run_id"),
            months=tuple(json_meta(commit, "trust.months", [])),
            sources={k: int(v) for k, v in json_meta(commit, "trust.sources", {}).items()},
            source_commit_times={k: int(v) for k, v in json_meta(commit, "trust.source_commit_times", {}).items()},
            checks=tuple(json_meta(commit, "trust.checks", [])),
            suppressed={k: int(v) for k, v in json_meta(commit, "trust.suppressed", {}).items()},
            protection=dict(json_meta(commit, "trust.protection", {})),
            policy_version=commit.get("trust.policy_version"),
            content_hash=commit.get("trust.content_hash"),
            models=tuple(json_meta(commit, "trust.models", [])),
            bytes_read=int_or_none(commit.get("trust.bytes_read")),
            source_bytes_total=int_or_none(commit.get("trust.source_bytes_total")),
            rows=rows,
            size_bytes=size,
        ))
    return sorted(out, key=lambda v: v.version)


def read_access_audit(paths: TrustPaths) -> list[dict[str, Any]]:
    """Access audit records (JSON lines under TrustPaths.audit); no folder or file means no reads yet.

    A line that is not a JSON object is skipped rather than failing the whole report: the audit belongs to the
    sharing server and may be mid-append while the report runs.
    """
    if not paths.audit.is_dir():
        return []
    records = []
    for path in sorted(paths.audit.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file (the retraction logs written by lib/audit/retractions.py); [] if absent."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def is_denied(status: Any) -> bool:
    if isinstance(status, int | float):
        return status >= 400
    text = str(status or "").strip().lower()
    return (text.isdigit() and int(text) >= 400) or text in DENIED_STATUSES


@dataclass
class RecipientReads:
    recipient: str
    reads: int = 0
    denied: int = 0
    files: int = 0
    bytes: int = 0
    agreements: set[str] = field(default_factory=set)


def reads_of(records: Iterable[Mapping[str, Any]], product_name: str, version: int) -> list[RecipientReads]:
    """Who read this product version, from audit records whose table is the product and version matches."""
    by_recipient: dict[str, RecipientReads] = {}
    for r in records:
        if str(r.get("table")) != product_name or int_or_none(r.get("version")) != version:
            continue
        who = str(r.get("recipient") or "unknown")
        entry = by_recipient.setdefault(who, RecipientReads(who))
        if is_denied(r.get("status")):
            entry.denied += 1
            continue
        entry.reads += 1
        entry.files += int_or_none(r.get("files")) or 0
        entry.bytes += int_or_none(r.get("bytes_sent")) or int_or_none(r.get("bytes")) or 0
        if r.get("agreement"):
            entry.agreements.add(str(r["agreement"]))
    return sorted(by_recipient.values(), key=lambda e: e.recipient)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_duration(ms: int | None) -> str:
    if ms is None:
        return "–"
    sign, ms = ("−" if ms < 0 else ""), abs(ms)
    seconds = ms / 1000
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{sign}{minutes:.0f} min"
    hours = minutes / 60
    return f"{sign}{hours:.1f} h" if hours < 48 else f"{sign}{hours / 24:.1f} days"


def latency_unit(largest_ms: int) -> tuple[str, int]:
    """The unit that keeps a latency chart's axis readable: seconds, minutes, hours or days."""
    for name, ms in (("days", 86_400_000), ("hours", 3_600_000), ("minutes", 60_000)):
        if largest_ms >= 2 * ms:
            return name, ms
    return "seconds", 1000
