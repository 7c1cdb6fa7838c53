"""Atomic, idempotent Delta commits of a product's months: the analyst interface.

Each publication replaces exactly the months a run built, in one Delta commit whose metadata ties it to the run
and its pinned sources. delta-rs can report a failure for a write that did commit, so every commit carries a Delta
application transaction keyed by the run: a retried publish of the same run sees its own transaction and does not
commit twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trust_assets.lib.months import month_dates, parse_month
from trust_assets.lib.storage import delta_table, is_delta_table, storage_options

if TYPE_CHECKING:
    from trust_assets.lib.publish.describe import TableDescription

APP_ID_PREFIX = "labour-market-trust"


@dataclass(frozen=True)
class Publication:
    product: str
    version: int
    committed: bool  # False when this run had already committed (idempotent retry)
    rows: int
    content_hash: str


def app_id(product: str, run_id: str) -> str:
    return f"{APP_ID_PREFIX}:{product}:{run_id}"


def content_hash(table: pa.Table, order_by: list[str]) -> str:
    """A stable hash of a table's rows, independent of row order and file layout."""
    ordered = table.sort_by([(c, "ascending") for c in order_by]) if table.num_rows else table
    digest = hashlib.sha256()
    digest.update(json.dumps([f"{f.name}:{f.type}" for f in ordered.schema]).encode())
    for row in ordered.to_pylist():
        digest.update(json.dumps(row, default=str, sort_keys=True).encode())
    return digest.hexdigest()


def months_predicate(month_column: str, months: list[str]) -> str:
    values = ", ".join(f"'{d}'" for d in sorted(set(month_dates(months))))
    return f"{month_column} IN ({values})"


def committed_version(uri: str, product: str, run_id: str) -> int | None:
    """The table version this run already committed, if it did."""
    if not is_delta_table(uri):
        return None
    table = delta_table(uri)
    if table.transaction_version(app_id(product, run_id)) is None:
        return None
    for entry in table.history():
        if entry.get("trust.run_id") == run_id and entry.get("trust.product", product) == product:
            return int(entry["version"])
    return table.version()


def replace_months(
    uri: str,
    data: pa.Table,
    *,
    product: str,
    month_column: str,
    grain: tuple[str, ...],
    months: list[str],
    run_id: str,
    metadata: dict[str, Any],
    description: TableDescription | None = None,
) -> Publication:
    """Replace ``months`` of the table at ``uri`` with ``data`` in one commit (creating the table if needed).

    With a ``description`` the table's name, description and column comments are brought up to it first (a
    table created now gets them in its first commit; an existing one only when they changed, see
    ``describe.apply_description``), so the data commit stays the table's latest version.
    """
    from deltalake import CommitProperties, Transaction, write_deltalake

    from trust_assets.lib.publish.describe import apply_description, with_comments, without_comments

    digest = content_hash(data, list(grain))
    already = committed_version(uri, product, run_id)
    if already is not None:
        return Publication(product, already, False, data.num_rows, digest)
    custom = {key: value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
              for key, value in metadata.items()}
    custom.update({"trust.run_id": run_id, "trust.product": product, "trust.content_hash": digest,
                   "trust.months": json.dumps(sorted({parse_month(m) for m in months}))})
    properties = CommitProperties(custom_metadata=custom, app_transactions=[Transaction(app_id(product, run_id), 1)])
    if is_delta_table(uri):
        if description is not None:
            apply_description(uri, description)
        write_deltalake(uri, without_comments(data), mode="overwrite",
                        predicate=months_predicate(month_column, months), partition_by=[month_column],
                        commit_properties=properties, storage_options=storage_options(uri) or None)
    elif description is not None:
        write_deltalake(uri, data.cast(with_comments(data.schema, description)), mode="overwrite",
                        partition_by=[month_column], commit_properties=properties, name=description.name,
                        description=description.description, storage_options=storage_options(uri) or None)
    else:
        write_deltalake(uri, data, mode="overwrite", partition_by=[month_column], commit_properties=properties,
                        storage_options=storage_options(uri) or None)
    return Publication(product, delta_table(uri).version(), True, data.num_rows, digest)


def read_months(uri: str, month_column: str, months: list[str] | None = None, version: int | None = None) -> pa.Table:
    """Read some months of a published (or candidate) table, optionally at a version."""
    import pyarrow.compute as pc

    table = delta_table(uri, version=version) if version is not None else delta_table(uri)
    data = table.to_pyarrow_table()
    if months:
        wanted = pa.array(month_dates(months)).cast(pa.date32())
        data = data.filter(pc.is_in(data[month_column], value_set=wanted))
    return data
