"""The local S3 store the project starts (scripts/services.sh start s3, SeaweedFS): buckets, identities, Delta on it."""

from __future__ import annotations

import subprocess

import pyarrow as pa
import pytest

pytestmark = pytest.mark.integration


def _readonly(s3_store: dict[str, str]) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": s3_store["TRUST_S3_DEPARTMENTS_READONLY_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": s3_store["TRUST_S3_DEPARTMENTS_READONLY_SECRET_ACCESS_KEY"]}


def test_start_prints_exports_and_creates_both_buckets(s3_store, s3_env):
    from _services import ROOT

    assert s3_store["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ALLOW_HTTP"} <= set(s3_store)
    for bucket in ("departments", "trust"):  # creating an existing bucket again succeeds (409 counts as there)
        listed = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts/services/s3_api.py"),
                                 "mkbucket", bucket], capture_output=True, text=True, timeout=30, check=False)
        assert listed.returncode == 0, listed.stderr


def test_delta_on_s3_and_the_read_only_identity(s3_env, tmp_path):
    from deltalake import DeltaTable, write_deltalake

    from trust_assets.lib.storage import list_names

    uri = f"s3://departments/test-{tmp_path.name}/claims"
    write_deltalake(uri, pa.table({"person_id": ["a", "b"]}))
    write_deltalake(uri, pa.table({"person_id": ["c"]}), mode="append")
    assert DeltaTable(uri).version() == 1
    assert list_names(uri + "/_delta_log/") == ["00000000000000000000.json", "00000000000000000001.json"]
    assert list_names(uri.rsplit("/", 1)[0]) == ["claims"]  # one level, like a folder's listing

    readonly = _readonly(s3_env)
    assert DeltaTable(uri, storage_options=readonly, version=0).to_pyarrow_table().num_rows == 2
    with pytest.raises(Exception, match="privileges"):
        write_deltalake(uri, pa.table({"person_id": ["d"]}), mode="append", storage_options=readonly)
    assert DeltaTable(uri).version() == 1
    write_deltalake(f"s3://trust/test-{tmp_path.name}/product", pa.table({"n": [1]}))
    with pytest.raises(OSError, match="privileges"):
        DeltaTable(f"s3://trust/test-{tmp_path.name}/product", storage_options=readonly)


def test_duckdb_reads_a_parquet_file_past_its_first_blocks(s3_env, tmp_path):
    """obstore 0.12.1's own fsspec file returned short reads past ~4 MB, which DuckDB's read_parquet refuses; the
    trust's filesystem (lib/storage.py) reads whole ranges."""
    import os

    import pyarrow.parquet as pq
    from obstore.store import from_url

    from trust_assets.lib.storage import _obstore_config, duckdb_connect

    rows = 400_000  # random hex does not compress: ~14 MB of parquet, several 4 MiB blocks
    table = pa.table({"id": [os.urandom(16).hex() for _ in range(rows)], "n": list(range(rows))})
    local = tmp_path / "big.parquet"
    pq.write_table(table, local, row_group_size=50_000)
    assert local.stat().st_size > 10 * 2**20
    prefix = f"s3://trust/test-{tmp_path.name}/"
    config, client = _obstore_config(prefix)
    from_url(prefix, config=config, client_options=client).put("big.parquet", local.read_bytes())
    con = duckdb_connect(uris=(prefix,))
    read = con.sql(f"select * from read_parquet('{prefix}big.parquet') order by n").to_arrow_table()
    assert read.equals(table)
