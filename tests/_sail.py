"""A real Spark engine for tests: Sail (``pysail``) serving Spark Connect on 127.0.0.1, driven by pyspark-client.

Sail writes Delta tables with the features department platforms turn on (deletion vectors, column mapping in name
and id modes, partition columns, classic and v2 checkpoints), and reads them back itself: the reference every read
of the trust's is compared with. Started once per test session, on a free port, and stopped at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def sail_session() -> Iterator[Any]:
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    try:
        host, port = server.listening_address
        spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
        try:
            yield spark
        finally:
            spark.stop()
    finally:
        server.stop()


def rows(frame: Any, columns: list[str]) -> list[tuple]:
    """A Spark DataFrame's rows as sorted tuples (order-free comparison), ``None`` sorted first."""
    return sorted((tuple(r[c] for c in columns) for r in frame.select(*columns).collect()), key=_key)


def _key(row: tuple) -> tuple:
    return tuple((v is not None, v) for v in row)


def sorted_rows(records: list[tuple]) -> list[tuple]:
    return sorted(records, key=_key)
