"""Reading a share from the pipeline's side: a pinned table version as a list of file URLs plus its schema.

The official ``delta-sharing`` client does the protocol (its REST client, so auth, retries and parsing are the
reference ones); this module only turns the answer into what DuckDB or pyarrow need. The URLs are short-lived
signed URLs: read them within the server's URL lifetime (default one hour) or ask again.

DuckDB's httpfs extension cannot be installed here, so DuckDB reads the URLs through fsspec. Plain
``fsspec.filesystem("http")`` is not enough: DuckDB calls ``modified()``, which fsspec's HTTP filesystem does not
implement, so :func:`immutable_http_filesystem` adds it::

    con.register_filesystem(immutable_http_filesystem("http"))
    con.read_parquet(files.urls)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

#: Delta primitive type names -> Arrow types (the types the trust's tables use, plus the common rest).
_DELTA_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "long": pa.int64(), "integer": pa.int32(), "short": pa.int16(), "byte": pa.int8(),
    "double": pa.float64(), "float": pa.float32(), "boolean": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"), "timestamp_ntz": pa.timestamp("us"), "binary": pa.binary(),
}


@dataclass(frozen=True)
class SharedFile:
    url: str
    id: str
    size: int
    num_records: int | None
    partition_values: dict[str, str | None]


@dataclass(frozen=True)
class SharedTableFiles:
    """One pinned version of a shared table: what the server would let this recipient read, file by file."""

    table: str
    version: int
    schema: pa.Schema
    partition_columns: list[str]
    files: list[SharedFile]

    @property
    def urls(self) -> list[str]:
        return [f.url for f in self.files]


def _arrow_schema(schema_string: str) -> pa.Schema:
    fields = []
    for field in json.loads(schema_string)["fields"]:
        type_name = field["type"]
        if isinstance(type_name, str) and type_name.startswith("decimal("):
            precision, scale = (int(x) for x in type_name[8:-1].split(","))
            arrow = pa.decimal128(precision, scale)
        elif isinstance(type_name, str) and type_name in _DELTA_TYPES:
            arrow = _DELTA_TYPES[type_name]
        else:
            raise ValueError(f"column {field['name']!r}: Delta type {type_name!r} is not supported here")
        fields.append(pa.field(field["name"], arrow, nullable=field.get("nullable", True)))
    return pa.schema(fields)


def list_shared_files(profile: str | Path, table: str, version: int | None = None,
                      json_predicate_hints: dict | None = None) -> SharedTableFiles:
    """The files of ``share.schema.table`` at ``version`` (latest when None), as the recipient may read them.

    Pin a version for reproducible runs: the response says which version was actually served, and the
    pipeline should record that in its lineage.
    """
    from delta_sharing.protocol import DeltaSharingProfile, Table
    from delta_sharing.rest_client import DataSharingRestClient

    parts = table.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"table {table!r} must be written share.schema.table")
    share, schema, name = parts
    client = DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile)), num_retries=2)
    try:
        response = client.list_files_in_table(
            Table(name=name, share=share, schema=schema), version=version,
            jsonPredicateHints=json.dumps(json_predicate_hints) if json_predicate_hints else None)
    finally:
        client.close()
    files = [
        SharedFile(url=f.url, id=f.id, size=f.size, partition_values=dict(f.partition_values),
                   num_records=json.loads(f.stats).get("numRecords") if f.stats else None)
        for f in response.add_files
    ]
    return SharedTableFiles(table=table, version=response.delta_table_version,
                            schema=_arrow_schema(response.metadata.schema_string),
                            partition_columns=list(response.metadata.partition_columns), files=files)


def immutable_http_filesystem(scheme: str = "http"):
    """fsspec's HTTP filesystem with ``modified()``, which DuckDB calls and fsspec's HTTP filesystem lacks.

    Every served file is named by a hash of its source file and the agreement's terms and never changes, so a
    constant modification time is true, and lets DuckDB cache footers safely.
    """
    import datetime as dt

    from fsspec.implementations.http import HTTPFileSystem

    class ImmutableHTTPFileSystem(HTTPFileSystem):
        protocol = (scheme,)

        def modified(self, path: str) -> dt.datetime:
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    return ImmutableHTTPFileSystem()


def read_with_duckdb(files: SharedTableFiles, connection=None):
    """A DuckDB relation over the shared files, read through fsspec's HTTP filesystem (no httpfs needed).

    Every served file holds every permitted column (partition columns included), so a plain multi-file
    ``read_parquet`` gives the whole table; an empty share yields an empty relation with the right columns.
    """
    import duckdb

    con = connection or duckdb.connect()
    scheme = files.urls[0].split("://", 1)[0] if files.urls else "http"
    con.register_filesystem(immutable_http_filesystem(scheme))
    if not files.files:
        return con.from_arrow(files.schema.empty_table())
    return con.read_parquet(files.urls)
