"""How one pinned Delta table version is read by DuckDB: the scan files the Delta log lists, and what to do to each.

A version's scan files come from deltalake (delta-kernel log replay: JSON commits, classic and v2 checkpoints with
sidecars, log compaction). For a *plain* table (no deletion vectors, no column mapping, no partition columns) the
files hold exactly the table's rows and names, and DuckDB's ``read_parquet`` over them is the fast path kept from
before. Otherwise the plan below says, per file group, what the files alone do not:

- **column mapping** (``name``: files use physical names, selected ``as`` the logical name; ``id``: files are read
  by parquet field id through ``read_parquet(schema=...)``, so a renamed or re-ordered column still binds right);
- **partition columns**: values live in the log, so each partition's files are read with the value as a typed
  constant (and the files' own copy, if any, is ignored);
- **deletion vectors**: deltalake materialises each file's deletion vector; deleted row positions become a
  ``file_row_number`` filter on that file.

The result is one DuckDB SQL relation (``relation_sql``) that dbt's staging views use instead of the bare file
list, so DuckDB still does the reading (projection, row-group pruning, parallelism) and no row is copied anywhere.

A reader feature the trust does not know is refused (:class:`UnsupportedDeltaFeature`) with the table, version
and feature named, rather than read wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Reader features this plan honours. Anything else in a table's protocol is refused by name.
SUPPORTED_READER_FEATURES = frozenset({
    "columnMapping",  # name and id modes
    "deletionVectors",
    "v2Checkpoint",  # replayed by deltalake (kernel), incl. sidecars
    "timestampNtz",  # parquet carries the type; DuckDB reads it as TIMESTAMP
    "vacuumProtocolCheck",  # a writer-side guard; nothing to do when reading
})
#: Highest reader protocol version understood (3 = table features).
MAX_READER_VERSION = 3
#: Deleted row positions are inlined into the SQL as ranges; past this many ranges in one pin the SQL (which dbt
#: receives through ``--vars``, ~128 KiB at most) would not fit, so the pin is refused and says why.
MAX_DELETED_RANGES = 4000

#: Arrow type names (as ``str(pyarrow type)``) -> DuckDB types, for casts of partition values and typed empties.
ARROW_TO_DUCKDB: dict[str, str] = {
    "string": "VARCHAR", "large_string": "VARCHAR", "string_view": "VARCHAR",
    "date32[day]": "DATE", "double": "DOUBLE", "float": "FLOAT", "bool": "BOOLEAN",
    "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ", "timestamp[us]": "TIMESTAMP",
}
_DECIMAL = re.compile(r"decimal\d*\((\d+), (\d+)\)")


class DeltaReadError(Exception):
    """A Delta table version cannot be read as asked (base of the source errors)."""


class UnsupportedDeltaFeature(DeltaReadError):
    """The table's protocol asks for something this reader does not do: refused, never read approximately."""

    def __init__(self, table: str, version: int | None, features: Iterable[str], detail: str = "") -> None:
        self.table, self.version, self.features = table, version, tuple(sorted(features))
        at = f"version {version}" if version is not None else "its latest version"
        super().__init__(f"Delta table {table} at {at} uses reader feature(s) {', '.join(self.features)} that the "
                         f"trust's reader does not support{detail}; refused, nothing read")


def duckdb_type(arrow_type: Any) -> str:
    name = str(arrow_type)
    if name in ARROW_TO_DUCKDB:
        return ARROW_TO_DUCKDB[name]
    if m := _DECIMAL.fullmatch(name):
        return f"DECIMAL({m.group(1)}, {m.group(2)})"
    raise DeltaReadError(f"column type {name} has no DuckDB mapping in the trust's reader")


@dataclass(frozen=True)
class ScanColumn:
    name: str  # logical (what the table's schema and the trust's agreements say)
    physical: str  # what the parquet files call it (== name without column mapping)
    field_id: int | None
    duckdb_type: str
    partition: bool = False


@dataclass(frozen=True)
class ScanFile:
    path: str  # readable by DuckDB (local path, or an object-store URI read through fsspec)
    partition_values: tuple[Any, ...] = ()  # in the order of the plan's partition columns
    #: Deleted row positions as inclusive ranges (from the deletion vector); empty when none.
    deleted: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ScanPlan:
    table: str
    version: int
    mapping_mode: str  # "none" | "name" | "id"
    columns: tuple[ScanColumn, ...]
    files: tuple[ScanFile, ...]
    features: tuple[str, ...] = field(default=())

    @property
    def plain(self) -> bool:
        """True when ``read_parquet`` over the files alone is the table (the fast path)."""
        return (self.mapping_mode == "none" and not any(c.partition for c in self.columns)
                and not any(f.deleted for f in self.files))

    @property
    def deleted_rows(self) -> int:
        return sum(hi - lo + 1 for f in self.files for lo, hi in f.deleted)


def check_protocol(table: str, version: int | None, min_reader_version: int,
                   reader_features: Sequence[str] | None) -> tuple[str, ...]:
    """The reader features in use; raise UnsupportedDeltaFeature naming any the trust does not know."""
    if min_reader_version > MAX_READER_VERSION:
        raise UnsupportedDeltaFeature(table, version, [f"minReaderVersion {min_reader_version}"])
    features = tuple(sorted(reader_features or ()))
    if min_reader_version == 2:  # reader version 2 is column mapping without a feature list
        features = ("columnMapping",)
    unknown = set(features) - SUPPORTED_READER_FEATURES
    if unknown:
        raise UnsupportedDeltaFeature(table, version, unknown)
    return features


_KERNEL_UNSUPPORTED = re.compile(r"[Ff]eature '?([A-Za-z0-9_]+)'? is not supported|[Uu]nsupported reader features?:? "
                                 r"\[?([A-Za-z0-9_, \"']+)")


def unsupported_from_error(table: str, version: int | None, exc: BaseException) -> UnsupportedDeltaFeature | None:
    """deltalake (kernel) refuses to open a table with an unknown reader feature: name it the trust's way."""
    m = _KERNEL_UNSUPPORTED.search(str(exc))
    if not m:
        return None
    names = [n.strip(" '\"") for n in (m.group(1) or m.group(2) or "").split(",") if n.strip(" '\"")]
    return UnsupportedDeltaFeature(table, version, names or ["unknown"])


def deleted_ranges(selection: Sequence[bool]) -> tuple[tuple[int, int], ...]:
    """Inclusive ranges of the positions a deletion vector marks deleted (False in deltalake's keep mask)."""
    ranges: list[tuple[int, int]] = []
    start = None
    for i, keep in enumerate(selection):
        if not keep and start is None:
            start = i
        elif keep and start is not None:
            ranges.append((start, i - 1))
            start = None
    if start is not None:
        ranges.append((start, len(selection) - 1))
    return tuple(ranges)


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def plan_scan(dt: Any, table: str) -> ScanPlan:
    """The scan plan of an opened deltalake ``DeltaTable`` (already at the pinned version)."""
    import pyarrow as pa

    version = dt.version()
    protocol = dt.protocol()
    features = check_protocol(table, version, protocol.min_reader_version, protocol.reader_features)
    metadata = dt.metadata()
    mode = (metadata.configuration or {}).get("delta.columnMapping.mode", "none") if "columnMapping" in features \
        else "none"
    partition_columns = list(metadata.partition_columns or [])
    arrow_schema = pa.schema(dt.schema().to_arrow())
    columns = []
    for f, arrow_field in zip(dt.schema().fields, arrow_schema, strict=True):
        meta = f.metadata or {}
        physical = str(meta.get("delta.columnMapping.physicalName", f.name)) if mode != "none" else f.name
        field_id = meta.get("delta.columnMapping.id")
        columns.append(ScanColumn(f.name, physical, int(field_id) if field_id is not None and mode == "id" else None,
                                  duckdb_type(arrow_field.type), f.name in partition_columns))
    actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    uris = [_local(u) for u in dt.file_uris()]
    if len(uris) != len(actions):
        raise DeltaReadError(f"Delta table {table} version {version}: {len(uris)} file URIs for {len(actions)} files")
    deleted: dict[str, tuple[tuple[int, int], ...]] = {}
    if "deletionVectors" in features:
        for row in pa.table(dt.deletion_vectors()).to_pylist():
            deleted[_local(row["filepath"])] = deleted_ranges(row["selection_vector"])
    files = tuple(ScanFile(uri, tuple(row.get(f"partition.{p}") for p in partition_columns), deleted.get(uri, ()))
                  for uri, row in zip(uris, actions, strict=True))
    unknown_dv = set(deleted) - {f.path for f in files}
    if unknown_dv:
        raise DeltaReadError(f"Delta table {table} version {version}: deletion vectors for files not in the "
                             f"version: {sorted(unknown_dv)[:3]}")
    plan = ScanPlan(table, version, mode, tuple(columns), files, features)
    ranges = sum(len(f.deleted) for f in files)
    if ranges > MAX_DELETED_RANGES:
        raise UnsupportedDeltaFeature(table, version, ["deletionVectors"],
                                      f" at this size ({ranges} deleted row ranges over {MAX_DELETED_RANGES}: "
                                      "ask the department to purge them, e.g. REORG TABLE ... APPLY (PURGE))")
    return plan


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _file_list(paths: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(p) for p in paths) + "]"


def _read(plan: ScanPlan, paths: Sequence[str], with_row_number: bool) -> str:
    data = [c for c in plan.columns if not c.partition]
    options = []
    if plan.mapping_mode == "id":
        entries = ", ".join(f"{c.field_id}: {{name: {_literal(c.name)}, type: {_literal(c.duckdb_type)}, "
                            "default_value: NULL}" for c in data)
        options.append(f"schema = map {{{entries}}}")
    else:
        options.append("union_by_name = true")
    if with_row_number:
        options.append("file_row_number = true")
    return f"read_parquet({_file_list(paths)}, {', '.join(options)})"


def _select_list(plan: ScanPlan, constants: dict[str, Any]) -> str:
    items = []
    for c in plan.columns:
        if c.partition:
            items.append(f"cast({_literal(constants[c.name])} as {c.duckdb_type}) as {_quote_ident(c.name)}")
        elif plan.mapping_mode == "name":
            items.append(f"{_quote_ident(c.physical)} as {_quote_ident(c.name)}")
        else:
            items.append(_quote_ident(c.name))
    return ", ".join(items)


def _deleted_predicate(ranges: Sequence[tuple[int, int]]) -> str:
    singles = [str(lo) for lo, hi in ranges if lo == hi]
    spans = [f"file_row_number between {lo} and {hi}" for lo, hi in ranges if lo != hi]
    parts = ([f"file_row_number in ({', '.join(singles)})"] if singles else []) + spans
    return "not (" + " or ".join(parts) + ")"


def empty_sql(columns: Iterable[tuple[str, str]]) -> str:
    """A typed relation with no rows (a version with no files)."""
    return "select " + ", ".join(f"cast(NULL as {t}) as {_quote_ident(n)}" for n, t in columns) + " where 1 = 0"


def relation_sql(plan: ScanPlan) -> str:
    """One DuckDB query returning exactly the rows and logical columns of the plan's table version."""
    if not plan.files:
        return empty_sql((c.name, c.duckdb_type) for c in plan.columns)
    partition_names = [c.name for c in plan.columns if c.partition]
    groups: dict[tuple[Any, ...], list[ScanFile]] = {}
    for f in plan.files:
        groups.setdefault(tuple(f.partition_values), []).append(f)
    selects = []
    for values, members in sorted(groups.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        constants = dict(zip(partition_names, values, strict=True))
        select_list = _select_list(plan, constants)
        whole = [f.path for f in members if not f.deleted]
        if whole:
            selects.append(f"select {select_list} from {_read(plan, whole, False)}")
        for f in members:
            if f.deleted:
                selects.append(f"select {select_list} from {_read(plan, [f.path], True)} "
                               f"where {_deleted_predicate(f.deleted)}")
    return "\nunion all\n".join(selects)
