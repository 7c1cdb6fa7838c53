"""dbt-duckdb plugin: lets dbt's DuckDB connection read the signed file URLs a Delta Sharing server hands out.

DuckDB's httpfs extension cannot be installed here, so HTTP(S) reads go through fsspec, registered on the
connection dbt opens (profiles.yml lists this module under ``plugins``). It costs nothing for direct-path runs.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        from trust_assets.lib.sources.share_client import immutable_http_filesystem

        for scheme in ("http", "https"):
            conn.register_filesystem(immutable_http_filesystem(scheme))
