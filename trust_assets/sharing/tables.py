"""Reading shared Delta tables and projecting their files down to what an agreement permits.

Raw Delta data files hold every column and every row, so handing out their URLs would leak whatever an agreement
leaves out. Each served file is therefore a *projection* of one source file: only the permitted columns (partition
columns materialised into the file, so any Parquet reader sees them), only rows the agreement's row rules allow.
A projection is written once per (source file, agreement terms) into a cache and then served with byte ranges.
Streaming a projection on the fly was rejected: Parquet readers need the file size and random access to the
footer (Range requests), which a stream cannot give. Delta data files are immutable, so a projection keyed by the
source file and the agreement's terms never goes stale; a change to the terms changes the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from trust_assets.lib.storage import (
    canonical,
    delta_table,
    exists,
    is_delta_table,
    is_remote,
    join_location,
    open_input,
    read_bytes,
)
from trust_assets.sharing.rules import RowRule, partition_value, rows_expression, rules_reject_partition

#: A table's root: a local folder or an object-store URI (TRUST_PUBLISHED_URI, TRUST_DEPARTMENTS_URI).
Location = str | Path

#: Bump when the projection logic changes, so old cache entries are never served again.
PROJECTION_FORMAT = "p1"
#: Reader features this server can honour in the parquet response format (plain Delta tables).
MAX_READER_VERSION = 1


class TableAccessError(Exception):
    """A table or version the request asked for cannot be served; carries the HTTP status and protocol code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class SourceFile:
    """One data file of a Delta table at a version, or one action of a commit."""

    path: str
    size: int
    partition_values: dict[str, str | None]
    num_records: int | None = None
    kind: str = "add"  # add | remove | cdc
    version: int | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class Snapshot:
    version: int
    table_id: str
    schema: pa.Schema
    delta_schema: dict
    partition_columns: list[str]
    configuration: dict[str, str]
    files: list[SourceFile] = field(default_factory=list)
    timestamp: int | None = None
    #: The table's own name and description (set from the dbt YAML at publish), for the protocol's metadata.
    name: str | None = None
    description: str | None = None


def _open(path: Location, version: int | None = None):
    if not is_delta_table(str(path)):
        raise TableAccessError(404, "RESOURCE_DOES_NOT_EXIST",
                               "the table's source has no data yet (no Delta table at its location)")
    try:
        return delta_table(str(path), version=version)
    except Exception:  # deltalake raises several types for a missing version; its text stays in the server
        if version is not None:
            raise TableAccessError(404, "RESOURCE_DOES_NOT_EXIST", f"version {version} of the table does not "
                                   "exist or is no longer available") from None
        raise


def latest_version(path: Location) -> int:
    return _open(path).version()


def commit_timestamps(path: Location) -> dict[int, int]:
    """Version -> commit time (epoch ms) from the table history."""
    return {int(h["version"]): int(h["timestamp"]) for h in _open(path).history()}


def version_at(path: Location, timestamp: str, *, at_or_after: bool) -> int:
    """The version current at a timestamp (snapshot reads) or the first at/after it (startingTimestamp)."""
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise TableAccessError(400, "INVALID_PARAMETER_VALUE",
                               f"timestamp {timestamp!r} is not in the format YYYY-MM-DDThh:mm:ssZ") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    millis = int(moment.timestamp() * 1000)
    times = sorted(commit_timestamps(path).items())
    if at_or_after:
        for version, ts in times:
            if ts >= millis:
                return version
        raise TableAccessError(400, "INVALID_PARAMETER_VALUE", f"no version at or after {timestamp}")
    candidates = [v for v, ts in times if ts <= millis]
    if not candidates:
        raise TableAccessError(400, "INVALID_PARAMETER_VALUE", f"{timestamp} is before the table's first version")
    return candidates[-1]


def _check_protocol(table) -> None:
    protocol = table.protocol()
    if protocol.min_reader_version > MAX_READER_VERSION or protocol.reader_features:
        raise TableAccessError(400, "UNSUPPORTED_TABLE_FEATURE",
                               f"the table needs reader version {protocol.min_reader_version} with features "
                               f"{protocol.reader_features or []}; this server serves plain Delta tables only")


def _serialise(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def snapshot(path: Location, version: int | None = None, *, with_files: bool = True) -> Snapshot:
    table = _open(path, version)
    _check_protocol(table)
    metadata = table.metadata()
    files: list[SourceFile] = []
    if with_files:
        actions = pa.table(table.get_add_actions(flatten=False))
        has_partitions = "partition" in actions.column_names
        for row in actions.to_pylist():
            partition = {k: _serialise(v) for k, v in (row.get("partition") or {}).items()} if has_partitions else {}
            files.append(SourceFile(path=row["path"], size=int(row["size_bytes"]), partition_values=partition,
                                    num_records=row.get("num_records")))
    return Snapshot(
        version=table.version(), table_id=metadata.id, schema=pa.schema(table.schema().to_arrow()),
        delta_schema=json.loads(table.schema().to_json()), partition_columns=list(metadata.partition_columns),
        configuration=dict(metadata.configuration), files=sorted(files, key=lambda f: f.path),
        name=metadata.name or None, description=metadata.description or None,
    )


def commit_actions(path: Location, version: int) -> list[SourceFile]:
    """The data actions of one commit, read from its Delta log JSON (a local folder or object storage).

    Used for the change data feed: a ``cdc`` action is served as-is (the table has CDF enabled), ``add`` becomes
    inserts and ``remove`` deletes (the coarse but exact change feed of an append/overwrite-only table).
    """
    log = join_location(path, f"_delta_log/{version:020d}.json")
    if not exists(log):
        raise TableAccessError(400, "INVALID_PARAMETER_VALUE", f"the Delta log for version {version} is not "
                               "available (never written, or removed by log retention)")
    actions: list[SourceFile] = []
    # the commit's own timestamp (commitInfo) when it has one; else the file's time, where a file has one
    timestamp = 0 if is_remote(log) else int(Path(log).stat().st_mtime * 1000)
    lines = [json.loads(line) for line in read_bytes(log).decode("utf-8").splitlines() if line.strip()]
    for line in lines:
        if "commitInfo" in line and line["commitInfo"].get("timestamp") is not None:
            timestamp = int(line["commitInfo"]["timestamp"])
    has_cdc = any("cdc" in line for line in lines)
    for line in lines:
        for kind in ("add", "remove", "cdc"):
            action = line.get(kind)
            if action is None or (has_cdc and kind != "cdc"):
                continue  # with CDF files present, add/remove are the table state, not the change feed
            if kind in ("add", "remove") and action.get("dataChange") is False:
                continue  # compaction rewrites: no logical change
            stats = json.loads(action["stats"]) if action.get("stats") else {}
            actions.append(SourceFile(path=action["path"], size=int(action.get("size") or 0),
                                      partition_values=dict(action.get("partitionValues") or {}),
                                      num_records=stats.get("numRecords"), kind=kind, version=version,
                                      timestamp=timestamp))
    return actions


# ---- projection ----

@dataclass(frozen=True)
class Terms:
    """What an agreement permits for one table: the columns (in order) and the row rules."""

    agreement_id: str
    columns: tuple[str, ...]
    rules: tuple[RowRule, ...]

    def fingerprint(self) -> str:
        return json.dumps([self.agreement_id, list(self.columns), [r.text for r in self.rules]])


@dataclass(frozen=True)
class ProjectedFile:
    key: str
    path: Path
    size: int
    num_rows: int


class Projector:
    """Writes and finds projected files in ``cache_dir``; safe for concurrent requests in one process."""

    def __init__(self, cache_dir: Path, max_age_seconds: float) -> None:
        self.cache_dir = cache_dir
        self.max_age_seconds = max_age_seconds
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._facts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._last_sweep = 0.0

    def path_for(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.parquet"

    @staticmethod
    def key_for(table_root: Location, source_path: str, kind: str, terms: Terms) -> str:
        """The projection's name: a hash of the source file and the terms, so new terms never match old files."""
        return hashlib.sha256(json.dumps([PROJECTION_FORMAT, canonical(table_root), source_path, kind,
                                          terms.fingerprint()]).encode()).hexdigest()

    def origin_of(self, key: str) -> dict | None:
        """What a projection was cut from (table, source file, schema names, share schema/table), or None."""
        try:
            return json.loads(self.path_for(key).with_suffix(".json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def project(self, table_root: Location, source: SourceFile, schema: pa.Schema, terms: Terms,
                origin: tuple[str, str] = ("", "")) -> ProjectedFile | None:
        """The projection of one source file, written once; None when the agreement leaves no row of it.

        A sidecar ``<key>.json`` records where it came from, so a file read can re-derive the key from the
        agreement as it stands *then* and refuse a file cut under terms that no longer hold.
        """
        partition = {k: partition_value(v, schema.field(k).type) for k, v in source.partition_values.items()
                     if k in schema.names}
        if rules_reject_partition(terms.rules, schema, partition):
            return None
        key = self.key_for(table_root, source.path, source.kind, terms)
        target = self.path_for(key)
        with self._lock_for(key):
            facts = self._facts.get(key)
            if facts is None or not target.exists():
                if not target.exists():
                    self._write(join_location(table_root, source.path), target, partition, schema, terms,
                                source.kind == "cdc")
                self._write_origin(target, table_root, source, schema, origin)
                meta = pq.read_metadata(target)
                facts = (target.stat().st_size, meta.num_rows)
                self._facts[key] = facts
                while len(self._facts) > 100_000:
                    self._facts.popitem(last=False)
            os.utime(target)  # the sweep keeps anything a live URL may still point at
        self._maybe_sweep()
        size, rows = facts
        return ProjectedFile(key=key, path=target, size=size, num_rows=rows) if rows else None

    @staticmethod
    def _write_origin(target: Path, table_root: Location, source: SourceFile, schema: pa.Schema,
                      origin: tuple[str, str]) -> None:
        sidecar = target.with_suffix(".json")
        if sidecar.exists():
            return
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"table_root": canonical(table_root), "source_path": source.path, "kind": source.kind,
                       "schema_names": schema.names, "schema": origin[0], "table": origin[1]}, handle)
        os.replace(tmp, sidecar)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @staticmethod
    def _write(source: str, target: Path, partition: dict[str, Any], schema: pa.Schema, terms: Terms,
               keep_change_type: bool) -> None:
        if not exists(source):
            raise TableAccessError(404, "RESOURCE_DOES_NOT_EXIST",
                                   "a data file of this version is no longer available (vacuumed)")
        with open_input(source) as handle:  # object storage: ranged reads, the footer first
            Projector._write_from(pq.ParquetFile(handle), target, partition, schema, terms, keep_change_type)

    @staticmethod
    def _write_from(parquet: pq.ParquetFile, target: Path, partition: dict[str, Any], schema: pa.Schema,
                    terms: Terms, keep_change_type: bool) -> None:
        file_schema = parquet.schema_arrow
        filter_expr = rows_expression(terms.rules, schema)
        wanted = list(terms.columns) + (["_change_type"] if keep_change_type else [])
        needed = set(wanted) | {r.column for r in terms.rules}
        read = [n for n in file_schema.names if n in needed]
        out_fields = []
        for name in wanted:
            if name in file_schema.names:
                out_fields.append(file_schema.field(name))
            elif name in schema.names:
                out_fields.append(schema.field(name))
        out_schema = pa.schema(out_fields)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        try:
            with pq.ParquetWriter(tmp, out_schema, compression="zstd") as writer:
                for batch in parquet.iter_batches(batch_size=65_536, columns=read):
                    table = pa.Table.from_batches([batch])
                    for name in needed:
                        if name in table.column_names or name not in schema.names:
                            continue
                        # partition values are not in Delta data files; absent columns (schema evolution) are null
                        table = table.append_column(schema.field(name),
                                                    pa.array([partition.get(name)] * table.num_rows,
                                                             type=schema.field(name).type))
                    if filter_expr is not None:
                        table = table.filter(filter_expr)
                    if table.num_rows:
                        writer.write_table(table.select(out_schema.names).cast(out_schema))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _maybe_sweep(self) -> None:
        now = time.time()
        if now - self._last_sweep < 600:
            return
        self._last_sweep = now
        self.sweep(now)

    def sweep(self, now: float | None = None) -> int:
        """Delete projections nobody has been handed a URL for in ``max_age_seconds``; returns how many."""
        cutoff = (now or time.time()) - self.max_age_seconds
        removed = 0
        for path in self.cache_dir.glob("*/*.parquet"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    path.with_suffix(".json").unlink(missing_ok=True)
                    self._facts.pop(path.stem, None)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
