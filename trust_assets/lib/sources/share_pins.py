"""Pinning a department table read through the Delta Sharing protocol instead of a direct path.

Same contract as ``delta_io.pin``: one version, the exact files to read (here signed URLs), the agreed schema
checked, sizes and row counts for lineage. dbt reads the URLs through fsspec (lib/dbt_http_plugin.py).
"""

from __future__ import annotations

from pathlib import Path

from trust_assets.lib.registry.sources import SourceTable
from trust_assets.lib.sources.delta_pins import DUCKDB_TYPES, SourceError, SourcePin, check_schema


def default_share_table(table: SourceTable) -> str:
    """``<dept>.default.<table>``: how the departments' agreements in agreements/ name their shares."""
    return f"{table.dept}.default.{table.table}"


def pin_shared(table: SourceTable, profile: str | Path, share_table: str, version: int | None = None) -> SourcePin:
    from trust_assets.lib.sources.share_client import list_shared_files

    try:
        shared = list_shared_files(profile, share_table, version)
    except Exception as exc:  # the client raises HTTPError / ValueError with the server's message
        raise SourceError(f"cannot read {table.key} through share {share_table} ({profile}): {exc}") from exc
    if shared.partition_columns:
        raise SourceError(f"share {share_table} is partitioned by {shared.partition_columns}: not supported")
    check_schema(table, shared.schema)
    return SourcePin(
        key=table.key,
        uri=f"{profile}#{share_table}",
        version=shared.version,
        files=tuple(sorted(shared.urls)),
        columns={c.name: DUCKDB_TYPES[str(c.type)] for c in table.columns},
        commit_time_ms=0,
        size_bytes=sum(f.size for f in shared.files),
        row_count=sum(f.num_records or 0 for f in shared.files),
        file_spans=tuple((f.size, None, None) for f in shared.files),
        extra={"share": share_table, "profile": str(profile)},
    )
