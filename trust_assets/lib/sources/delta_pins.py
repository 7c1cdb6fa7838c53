"""Reading department Delta tables in place, pinned to one version.

DuckDB's delta extension cannot be installed here, and deltalake's Arrow dataset is ~10x slower than DuckDB's own
parquet reader on the same files. So a pin resolves a table version to the exact parquet files its Delta log lists,
and dbt's staging views read those files with ``read_parquet``. That shortcut is only correct when the table uses
no deletion vectors, no column mapping and no partition columns (whose values live in the log, not the files): the
pin refuses such tables with an error that says so, rather than reading them wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from trust_assets.lib.months import month_range, parse_month
from trust_assets.lib.registry.sources import SourceTable

#: Arrow -> DuckDB types, for typed empty relations and schema checks.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "date32[day]": "DATE",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "int32": "INTEGER",
    "int64": "BIGINT",
}

#: Reader features the file-list read path cannot honour.
_UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping", "v2Checkpoint"}


class SourceError(Exception):
    """A department table cannot be read as agreed: missing, unreadable, or structurally changed."""


class SourceSchemaError(SourceError):
    """The shared table's columns differ from the agreed schema (renamed, dropped or retyped)."""


@dataclass(frozen=True)
class SourcePin:
    """One department table at one Delta version, as read by one run."""

    key: str
    uri: str
    version: int
    files: tuple[str, ...]
    columns: dict[str, str]
    commit_time_ms: int
    size_bytes: int
    row_count: int
    #: (size_bytes, first month, last month) of each file, from the log's statistics; months may be None.
    file_spans: tuple[tuple[int, str | None, str | None], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def bytes_overlapping(self, first: str, last: str) -> int:
        """Bytes of the files whose month range overlaps first..last (``YYYY-MM``): an upper bound on what a run
        for those months reads, since DuckDB skips the rest of the row groups by the same statistics."""
        return sum(size for size, lo, hi in self.file_spans if lo is None or hi is None or (lo <= last and hi >= first))

    def as_dbt_var(self) -> dict[str, Any]:
        return {"uri": self.uri, "version": self.version, "files": list(self.files), "columns": self.columns}


def _open(uri: str, version: int | None = None):
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(uri, version=version) if version is not None else DeltaTable(uri)
    except TableNotFoundError as exc:
        raise SourceError(f"no Delta table at {uri}" + (f" version {version}" if version is not None else "")
                          + f": {exc}") from exc
    except Exception as exc:  # deltalake raises plain exceptions for a version that does not exist
        raise SourceError(f"cannot open Delta table {uri} at version {version}: {exc}") from exc


def latest_version(uri: str) -> int:
    """The table's current version, without reading any data files."""
    return _open(uri).version()


def _arrow_type_name(arrow_type: Any) -> str:
    return str(arrow_type)


def check_schema(table: SourceTable, actual: pa.Schema) -> None:
    """Raise SourceSchemaError naming every missing, unexpected or retyped column."""
    expected = {f.name: str(f.type) for f in table.schema}
    got = {f.name: str(f.type) for f in actual}
    problems = []
    missing = [c for c in expected if c not in got]
    if missing:
        problems.append(f"missing columns {missing}")
    extra = [c for c in got if c not in expected]
    if extra:
        problems.append(f"unexpected columns {extra}")
    retyped = [f"{c} ({got[c]}, expected {t})" for c, t in expected.items() if c in got and got[c] != t]
    if retyped:
        problems.append(f"retyped columns {retyped}")
    if problems:
        raise SourceSchemaError(f"source {table.key} does not match its agreed schema: " + "; ".join(problems))


def pin(table: SourceTable, uri: str, version: int | None = None) -> SourcePin:
    """Resolve ``table`` at ``version`` (default: latest) to the parquet files its Delta log lists."""
    dt_ = _open(uri, version)
    protocol = dt_.protocol()
    features = set(protocol.reader_features or [])
    if features & _UNSUPPORTED_READER_FEATURES:
        raise SourceError(f"source {table.key} at {uri} uses Delta reader features "
                          f"{sorted(features & _UNSUPPORTED_READER_FEATURES)} that the in-place parquet read "
                          "path cannot honour")
    if dt_.metadata().partition_columns:
        raise SourceError(f"source {table.key} at {uri} is partitioned by {dt_.metadata().partition_columns}; "
                          "partition values live in the Delta log and the in-place read path needs them in files")
    schema = pa.schema(dt_.schema().to_arrow())
    check_schema(table, schema)
    actions = pa.table(dt_.get_add_actions(flatten=True))
    root = dt_.table_uri.rstrip("/")
    files = tuple(sorted(f"{root}/{p}" if "://" not in p else p for p in actions.column("path").to_pylist()))
    files = tuple(f.removeprefix("file://") for f in files)
    v = dt_.version()
    history = dt_.history(limit=1)
    spans = []
    for row in actions.to_pylist():
        lows = [row.get(f"min.{c}") for c in table.month_columns if row.get(f"min.{c}") is not None]
        highs = [row.get(f"max.{c}") for c in table.month_columns if row.get(f"max.{c}") is not None]
        spans.append((int(row["size_bytes"]), parse_month(min(lows)) if lows else None,
                      parse_month(max(highs)) if highs else None))
    return SourcePin(
        key=table.key,
        uri=uri,
        version=v,
        files=files,
        columns={c.name: DUCKDB_TYPES[_arrow_type_name(c.type)] for c in table.columns},
        commit_time_ms=int(history[0]["timestamp"]) if history else 0,
        size_bytes=int(sum(actions.column("size_bytes").to_pylist())),
        row_count=int(sum(n or 0 for n in actions.column("num_records").to_pylist())),
        file_spans=tuple(spans),
    )


def _month_span(actions: pa.Table, paths: set[str], columns: tuple[str, ...]) -> set[str]:
    months: set[str] = set()
    rows = [r for r in actions.to_pylist() if r["path"] in paths]
    for row in rows:
        for col in columns:
            lo, hi = row.get(f"min.{col}"), row.get(f"max.{col}")
            if lo is None or hi is None:
                continue
            months.update(month_range(lo, hi))
    return months


def touched_months(table: SourceTable, uri: str, from_version: int | None, to_version: int) -> set[str]:
    """Months whose rows changed between two versions.

    Appends are read from the Delta log's file statistics alone. When a commit also removed files (a late
    correction, or a merge that rewrote files to update a few rows), the statistics of rewritten files span every
    month they hold, so the removed and added files are compared row by row (DuckDB ``EXCEPT ALL``, both ways) and
    only the months of rows that really changed count. Only the files that differ between the versions are read.
    """
    new = pa.table(_open(uri, to_version).get_add_actions(flatten=True))
    new_paths = set(new.column("path").to_pylist())
    if from_version is None or from_version < 0:
        return _month_span(new, new_paths, table.month_columns)
    old = pa.table(_open(uri, from_version).get_add_actions(flatten=True))
    old_paths = set(old.column("path").to_pylist())
    added, removed = sorted(new_paths - old_paths), sorted(old_paths - new_paths)
    if not removed:
        return _month_span(new, set(added), table.month_columns)
    if not added:
        return _month_span(old, set(removed), table.month_columns)
    return _changed_row_months(table, uri, added, removed)


def _changed_row_months(table: SourceTable, uri: str, added: list[str], removed: list[str]) -> set[str]:
    import duckdb

    root = str(local_path(uri)).rstrip("/")
    files = {"added": [f"{root}/{p}" for p in added], "removed": [f"{root}/{p}" for p in removed]}
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    con = duckdb.connect()
    try:
        con.execute(
            f"create temp table changed as "
            f"(select {columns} from read_parquet($added) except all select {columns} from read_parquet($removed)) "
            f"union all "
            f"(select {columns} from read_parquet($removed) except all select {columns} from read_parquet($added))",
            files)
        months: set[str] = set()
        for col in table.month_columns:
            rows = con.execute(f'select distinct strftime("{col}", \'%Y-%m\') from changed where "{col}" is not null'
                               ).fetchall()
            months.update(r[0] for r in rows)
        return months
    finally:
        con.close()


def local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))
