"""Pinning a department table read through Delta Sharing: same contract as a direct pin, errors that name the share."""

from __future__ import annotations

import pyarrow as pa
import pytest

from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources import share_pins
from trust_assets.lib.sources.delta_pins import SourceError, SourceSchemaError
from trust_assets.lib.sources.share_client import SharedFile, SharedTableFiles


def served(schema: pa.Schema, partition_columns: list[str] | None = None) -> SharedTableFiles:
    files = [SharedFile(url=f"http://127.0.0.1:9/f{i}.parquet", id=f"f{i}", size=100 * (i + 1), num_records=i + 2,
                        partition_values={}) for i in range(2)]
    return SharedTableFiles(table="dwp.default.uc_claims", version=7, schema=schema,
                            partition_columns=partition_columns or [], files=files)


def test_a_shared_pin_lists_the_signed_urls_sizes_and_rows(monkeypatch):
    monkeypatch.setattr("trust_assets.lib.sources.share_client.list_shared_files",
                        lambda profile, table, version: served(UC_CLAIMS.schema))
    pinned = share_pins.pin_shared(UC_CLAIMS, "profile.share", share_pins.default_share_table(UC_CLAIMS), 7)
    assert share_pins.default_share_table(UC_CLAIMS) == "dwp.default.uc_claims"
    assert pinned.version == 7 and pinned.key == "dwp/uc_claims"
    assert pinned.files == ("http://127.0.0.1:9/f0.parquet", "http://127.0.0.1:9/f1.parquet")
    assert pinned.size_bytes == 300 and pinned.row_count == 5
    assert pinned.uri == "profile.share#dwp.default.uc_claims"


def test_a_share_that_changed_shape_is_a_schema_error(monkeypatch):
    narrowed = pa.schema([f for f in UC_CLAIMS.schema if f.name != "disability"])
    monkeypatch.setattr("trust_assets.lib.sources.share_client.list_shared_files",
                        lambda profile, table, version: served(narrowed))
    with pytest.raises(SourceSchemaError, match=r"missing columns \['disability'\]"):
        share_pins.pin_shared(UC_CLAIMS, "profile.share", "dwp.default.uc_claims")


def test_server_refusals_are_source_errors_naming_the_share(monkeypatch):
    def refuse(profile, table, version):
        raise RuntimeError("403 PERMISSION_DENIED agreement withdrawn")

    monkeypatch.setattr("trust_assets.lib.sources.share_client.list_shared_files", refuse)
    with pytest.raises(SourceError, match=r"through share dwp.default.uc_claims .*agreement withdrawn"):
        share_pins.pin_shared(UC_CLAIMS, "profile.share", "dwp.default.uc_claims")


def test_partitioned_shares_are_refused(monkeypatch):
    monkeypatch.setattr("trust_assets.lib.sources.share_client.list_shared_files",
                        lambda profile, table, version: served(UC_CLAIMS.schema, ["month"]))
    with pytest.raises(SourceError, match="partitioned by"):
        share_pins.pin_shared(UC_CLAIMS, "profile.share", "dwp.default.uc_claims")
