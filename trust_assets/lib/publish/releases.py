"""The release manifest: which product versions together form a complete, consistent release.

A release publishes every product in its own Delta commit, so a reader looking at the products' latest versions
could see a mix: a run killed after its first product's commit leaves one product at the new release and three at
the old. The manifest closes that gap. It is a small Delta table, ``<published>/_releases``, with one row per
complete release (run id, time, product → version, source pins, checks), committed **last**, after every product
commit and every release step. Readers that promise a consistent release (the sharing server, ``trust lineage``,
the report) read the latest row and serve exactly those versions; a product version that no row names belongs to
an interrupted release and is never served.

Release steps are the hook for work that must succeed before a release counts (the disclosure ledger, the access
log checkpoint): plain callables ``(ReleaseContext) -> None`` that raise to abort. They run after the product
commits and before the manifest row, so a step that fails leaves the release incomplete, never half-recorded. A
step may run again for the same release (a retry, or recovery completing an interrupted release): it must be
idempotent per ``run_id``.

A home with no ``_releases`` table predates the manifest: readers then treat every trust publish commit as
complete (the old behaviour). The first release-aware publish creates the (empty) table before its first product
commit, so a fresh home killed before its first manifest row serves nothing rather than a partial release.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.storage import delta_table, is_delta_table, storage_options

APP_ID_PREFIX = "labour-market-trust:release"

SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("released_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("months", pa.string()),      # JSON list of YYYY-MM the release built
    pa.field("products", pa.string()),    # JSON {product: Delta version}
    pa.field("pins", pa.string()),        # JSON {dept/table: Delta version}
    pa.field("checks", pa.string()),      # JSON list of {name, passed, severity}
    pa.field("note", pa.string()),        # e.g. "completed by recovery in run <id>"
])


@dataclass(frozen=True)
class Release:
    """One complete release, as recorded in the manifest."""

    run_id: str
    released_at: dt.datetime
    months: tuple[str, ...]
    products: Mapping[str, int]
    pins: Mapping[str, int]
    checks: tuple[Mapping[str, Any], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ReleaseContext:
    """What a release step sees: the release about to be recorded (every product already committed)."""

    paths: TrustPaths
    run_id: str
    months: tuple[str, ...]
    products: Mapping[str, int]
    pins: Mapping[str, int]
    checks: tuple[Mapping[str, Any], ...] = ()
    log: Callable[[str], None] = field(default=print)


ReleaseStep = Callable[[ReleaseContext], None]


def app_id(run_id: str) -> str:
    return f"{APP_ID_PREFIX}:{run_id}"


def ensure_manifest(paths: TrustPaths) -> None:
    """Create the empty manifest table if the home has none (before a release's first product commit)."""
    from deltalake import write_deltalake

    uri = str(paths.releases)
    if not is_delta_table(uri):
        for folder in paths.local_roots:
            folder.mkdir(parents=True, exist_ok=True)
        write_deltalake(uri, SCHEMA.empty_table(), mode="append", storage_options=storage_options(uri) or None)


def has_manifest(paths: TrustPaths) -> bool:
    return is_delta_table(str(paths.releases))


def _summary(checks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": c.get("name"), "passed": bool(c.get("passed")), "severity": c.get("severity")} for c in checks]


def record_release(context: ReleaseContext, steps: Sequence[ReleaseStep] = (), note: str = "") -> bool:
    """Run the release steps, then commit the manifest row: the release is complete once this returns.

    Idempotent per run id (a Delta application transaction): returns False when the row was already committed.
    """
    from deltalake import CommitProperties, Transaction, write_deltalake

    failpoint("before_release_steps")
    for step in steps:
        step(context)
    failpoint("before_manifest")
    ensure_manifest(context.paths)
    uri = str(context.paths.releases)
    if delta_table(uri).transaction_version(app_id(context.run_id)) is not None:
        return False
    row = pa.table({
        "run_id": [context.run_id],
        "released_at": [dt.datetime.now(dt.UTC)],
        "months": [json.dumps(sorted(context.months))],
        "products": [json.dumps(dict(sorted(context.products.items())))],
        "pins": [json.dumps(dict(sorted(context.pins.items())))],
        "checks": [json.dumps(_summary(context.checks))],
        "note": [note],
    }, schema=SCHEMA)
    write_deltalake(uri, row, mode="append", commit_properties=CommitProperties(
        custom_metadata={"trust.run_id": context.run_id},
        app_transactions=[Transaction(app_id(context.run_id), 1)]), storage_options=storage_options(uri) or None)
    context.log(f"release {context.run_id} complete: "
                + ", ".join(f"{p} v{v}" for p, v in sorted(context.products.items())))
    return True


def releases(paths: TrustPaths) -> list[Release]:
    """Every complete release, oldest first (empty when the home has no manifest or no release yet)."""
    uri = str(paths.releases)
    if not is_delta_table(uri):
        return []
    rows = delta_table(uri).to_pyarrow_table().sort_by("released_at").to_pylist()
    return [Release(run_id=r["run_id"], released_at=r["released_at"], months=tuple(json.loads(r["months"] or "[]")),
                    products={k: int(v) for k, v in json.loads(r["products"] or "{}").items()},
                    pins={k: int(v) for k, v in json.loads(r["pins"] or "{}").items()},
                    checks=tuple(json.loads(r["checks"] or "[]")), note=r["note"] or "") for r in rows]


def latest_release(paths: TrustPaths) -> Release | None:
    found = releases(paths)
    return found[-1] if found else None


def released_versions(paths: TrustPaths, product: str) -> list[int] | None:
    """Versions of ``product`` that some complete release names, ascending; None when the home has no manifest."""
    if not has_manifest(paths):
        return None
    return sorted({r.products[product] for r in releases(paths) if product in r.products})


@dataclass(frozen=True)
class Interrupted:
    """A release whose product commits started but whose manifest row was never written."""

    run_id: str
    #: product -> the version the interrupted run committed
    committed: Mapping[str, int]
    #: the commit metadata of one of its product commits (months, pins, checks)
    metadata: Mapping[str, Any]


def interrupted_release(paths: TrustPaths, products: Sequence[str]) -> Interrupted | None:
    """The interrupted release, if any product's latest commit is a trust publish no complete release names.

    Only the newest such run is returned: runs are serialised, so at most one release can be open at a time.
    """
    if not has_manifest(paths):
        return None
    latest = latest_release(paths)
    released = {r.run_id for r in releases(paths)}
    committed: dict[str, int] = {}
    metadata: dict[str, Any] = {}
    run_id: str | None = None
    for name in products:
        uri = str(paths.published_product(name))
        if not is_delta_table(uri):
            continue
        head = delta_table(uri).history(limit=1)[0]
        owner = head.get("trust.run_id")
        if owner is None or owner in released or head.get("trust.restores") is not None:
            continue
        if latest is not None and int(head["version"]) <= latest.products.get(name, -1):
            continue
        run_id = run_id or owner
        if owner == run_id:
            committed[name] = int(head["version"])
            metadata = metadata or dict(head)
    return Interrupted(run_id, committed, metadata) if run_id else None


def restore_released(paths: TrustPaths, products: Sequence[str], reason: str) -> dict[str, int]:
    """Supersede an interrupted release: put each product back at the version the latest release names.

    Used when the interrupted release cannot be completed. Each restore is a Delta commit marked
    ``trust.restores`` (the version it restores), so the next publish builds on released content only.
    """
    from deltalake import CommitProperties

    latest = latest_release(paths)
    restored: dict[str, int] = {}
    for name in products:
        uri = str(paths.published_product(name))
        if not is_delta_table(uri):
            continue
        table = delta_table(uri)
        target = latest.products.get(name) if latest else None
        if target is None or table.version() == target:
            continue
        table.restore(target, commit_properties=CommitProperties(custom_metadata={
            "trust.restores": str(target), "trust.reason": reason}))
        restored[name] = target
    return restored


def failpoint(name: str) -> None:
    """Pause here when ``TRUST_FAILPOINT`` names this point: the kill tests stop a run at an exact moment.

    The process writes ``$TRUST_FAILPOINT_DIR/<name>`` (its pid) and sleeps, so a test can wait for the file and
    kill it. Unset (always, outside those tests) this costs one environment lookup.
    """
    if os.environ.get("TRUST_FAILPOINT") != name:
        return
    marker = Path(os.environ.get("TRUST_FAILPOINT_DIR", ".")) / name
    marker.write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("TRUST_FAILPOINT_SECONDS", "120")))
