"""dbt-duckdb plugin: lets dbt's DuckDB connection read signed share URLs and object-store department files.

DuckDB's httpfs extension cannot be installed here, so HTTP(S) reads go through fsspec, registered on the
connection dbt opens (profiles.yml lists this module under ``plugins``). It costs nothing for direct-path runs.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        from trust_assets.lib.sources.share_client import immutable_http_filesystem
        from trust_assets.lib.storage import register_filesystem_once, register_filesystems

        for scheme in ("http", "https"):
            register_filesystem_once(conn, immutable_http_filesystem(scheme))
        # Department tables in object storage (TRUST_DEPARTMENTS_URI=s3://...): parquet reads through obstore.

        register_filesystems(conn)
