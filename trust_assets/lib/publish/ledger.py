"""The release ledger: an append-only record of every cell the trust has published, true value beside published.

Disclosure control across releases needs memory: whether a republished cell can be differenced against its
earlier versions depends on everything published before, so the audit reads the ledger before protecting a
release (lib/audit/disclosure/differencing.py) and the publish step appends the release's entries before any
product commit. A crash after the append and before the commits leaves entries for cells that never reached
analysts: harmless, because the check then assumes an attacker knows more than was published, never less.

One row per (release, product, cell, measure) whose true value, published value or suppression reason changed
since the cell's previous entry (an unchanged republication adds nothing an attacker can use). The table holds
true values, so it lives under ``trust/ledger`` beside the warehouse and is never served: the sharing server only
serves ``published/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

from trust_assets.lib.paths import TrustPaths

APP_ID_PREFIX = "labour-market-trust:ledger"

LEDGER_SCHEMA = pa.schema([
    pa.field("release_id", pa.string(), nullable=False),
    pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("policy_version", pa.string(), nullable=False),
    pa.field("product", pa.string(), nullable=False),
    pa.field("month", pa.string(), nullable=False),          # YYYY-MM of the product's month column
    pa.field("cell_key", pa.string(), nullable=False),       # grain values joined by '|', month first as YYYY-MM
    pa.field("measure", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),           # count | pay | rate
    pa.field("true_value", pa.float64()),
    pa.field("published_value", pa.float64()),
    pa.field("reason", pa.string()),                         # suppression reason, null when published
    pa.field("noise", pa.string()),                          # keyed:<base> | none (counts only)
    pa.field("observed_low", pa.float64()),                  # what the publication tells: low <= value ...
    pa.field("observed_high", pa.float64()),                 # ... <= high (null: unbounded); see differencing
])


class LedgerError(RuntimeError):
    """The ledger cannot take this release (changed since the audit, or no entries for this run)."""


def month_label(values: pd.Series) -> pd.Series:
    """YYYY-MM of a date-like column (dates, timestamps or ISO strings)."""
    return pd.to_datetime(values).dt.strftime("%Y-%m").astype("string")


def cell_keys(frame: pd.DataFrame, grain: Iterable[str], month_column: str) -> pd.Series:
    """A cell's stable name: its grain values joined by '|', the month as YYYY-MM (e.g. ``2025-09|E07000125``).

    The same string names the cell in every release, so it keys both the ledger and the cell's secret offset.
    """
    parts = [month_label(frame[c]) if c == month_column else frame[c].astype("string").fillna("")
             for c in grain]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key.reset_index(drop=True)


def empty_ledger() -> pd.DataFrame:
    return LEDGER_SCHEMA.empty_table().to_pandas()


def ledger_version(uri: str) -> int | None:
    from deltalake import DeltaTable

    return DeltaTable(uri).version() if DeltaTable.is_deltatable(uri) else None


def read_ledger(uri: str, *, months: Iterable[str] | None = None, products: Iterable[str] | None = None,
                version: int | None = None, before_release: str | None = None) -> pd.DataFrame:
    """Ledger rows (all, or of some months / products, or only those recorded before a release), oldest first;
    an empty frame when there is no ledger."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(uri):
        return empty_ledger()
    frame = DeltaTable(uri, version=version).to_pandas()
    if before_release is not None:
        order = list(dict.fromkeys(frame.sort_values("recorded_at", kind="stable")["release_id"]))
        if before_release in order:
            frame = frame[frame["release_id"].isin(order[:order.index(before_release)])]
    if months is not None:
        frame = frame[frame["month"].isin(list(months))]
    if products is not None:
        frame = frame[frame["product"].isin(list(products))]
    return frame.sort_values(["recorded_at", "release_id"], kind="stable").reset_index(drop=True)


def to_arrow(entries: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(entries[LEDGER_SCHEMA.names], schema=LEDGER_SCHEMA, preserve_index=False)


def write_candidate_entries(paths: TrustPaths, entries: pd.DataFrame, run_id: str, seen_version: int | None) -> None:
    """Keep a release candidate's ledger entries (and the ledger version its audit read) until publish."""
    from deltalake import CommitProperties, write_deltalake

    meta = {"trust.run_id": run_id, "trust.ledger_version": "" if seen_version is None else str(seen_version)}
    write_deltalake(str(paths.candidate_ledger), to_arrow(entries), mode="overwrite", schema_mode="overwrite",
                    commit_properties=CommitProperties(custom_metadata=meta))


def app_id(run_id: str) -> str:
    return f"{APP_ID_PREFIX}:{run_id}"


def append_release(paths: TrustPaths, run_id: str) -> int:
    """Append this run's audited entries to the ledger, once; returns the rows appended (0 on a retry).

    Refuses when the candidate entries belong to another run, or when another release reached the ledger after
    this one was audited (its differencing check would then be stale): that release must be audited again.
    """
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    uri = str(paths.disclosure_ledger)
    if DeltaTable.is_deltatable(uri) and DeltaTable(uri).transaction_version(app_id(run_id)) is not None:
        return 0
    candidate_uri = str(paths.candidate_ledger)
    if not DeltaTable.is_deltatable(candidate_uri):
        raise LedgerError(f"no audited ledger entries at {candidate_uri}: run the audit before publishing")
    candidate = DeltaTable(candidate_uri)
    meta = candidate.history(limit=1)[0]
    if meta.get("trust.run_id") != run_id:
        raise LedgerError(f"the ledger entries at {candidate_uri} were audited by run {meta.get('trust.run_id')}, "
                          f"not this run {run_id}")
    seen = meta.get("trust.ledger_version", "")
    now = ledger_version(uri)
    if (None if seen == "" else int(seen)) != now:
        raise LedgerError(f"the release ledger moved from version {seen or 'none'} to {now} after this release was "
                          "audited: its differencing check is stale, so it is not published; run it again")
    entries = candidate.to_pyarrow_table()
    properties = CommitProperties(custom_metadata={"trust.run_id": run_id},
                                  app_transactions=[Transaction(app_id(run_id), 1)])
    write_deltalake(uri, entries.cast(LEDGER_SCHEMA), mode="append", commit_properties=properties)
    return entries.num_rows


def cell_history(paths: TrustPaths, product: str, cell_key: str, measure: str | None = None) -> pd.DataFrame:
    """Every entry of one cell (optionally one measure), oldest first."""
    frame = read_ledger(str(paths.disclosure_ledger), products=[product])
    frame = frame[frame["cell_key"] == cell_key]
    if measure is not None:
        frame = frame[frame["measure"] == measure]
    return frame.reset_index(drop=True)


def release_ids(paths: TrustPaths) -> list[str]:
    """Releases in the order they reached the ledger."""
    frame = read_ledger(str(paths.disclosure_ledger))
    return list(dict.fromkeys(frame["release_id"]))


def release_changes(paths: TrustPaths, release_id: str | None = None) -> tuple[str | None, pd.DataFrame]:
    """What one release (default: the latest) changed: its entries, each with the cell's previous entry."""
    frame = read_ledger(str(paths.disclosure_ledger))
    if frame.empty:
        return None, frame
    chosen = release_id or frame["release_id"].iloc[-1]
    keys = ["product", "cell_key", "measure"]
    frame = frame.assign(previous_published=frame.groupby(keys)["published_value"].shift(),
                         previous_reason=frame.groupby(keys)["reason"].shift(),
                         previous_release=frame.groupby(keys)["release_id"].shift())
    return chosen, frame[frame["release_id"] == chosen].reset_index(drop=True)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts of a release's entries by product, measure kind and outcome (published / suppressed reason)."""
    outcome = frame["reason"].fillna("published")
    counted = frame.assign(outcome=outcome).groupby(["product", "kind", "outcome"]).size()
    return {f"{p}:{k}:{o}": int(n) for (p, k, o), n in counted.items()}
