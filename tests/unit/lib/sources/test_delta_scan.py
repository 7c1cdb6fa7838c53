"""The scan plan's pure parts: deletion-vector ranges, protocol checks, refusals by name, and the SQL shapes."""

from __future__ import annotations

import duckdb
import pytest

from trust_assets.lib.sources.delta_scan import (
    ScanColumn,
    ScanFile,
    ScanPlan,
    UnsupportedDeltaFeature,
    check_protocol,
    deleted_ranges,
    relation_sql,
    unsupported_from_error,
)


def test_deleted_ranges_are_the_false_runs_of_the_keep_mask():
    assert deleted_ranges([True, False, False, True, False]) == ((1, 2), (4, 4))
    assert deleted_ranges([True, True]) == ()
    assert deleted_ranges([False]) == ((0, 0),)


def test_known_features_pass_and_unknown_ones_are_named():
    assert check_protocol("t", 3, 3, ["deletionVectors", "columnMapping"]) == ("columnMapping", "deletionVectors")
    assert check_protocol("t", 3, 2, None) == ("columnMapping",)
    with pytest.raises(UnsupportedDeltaFeature, match=r"Delta table s3://b/t at version 7 .*typeWidening"):
        check_protocol("s3://b/t", 7, 3, ["deletionVectors", "typeWidening"])
    with pytest.raises(UnsupportedDeltaFeature, match="minReaderVersion 4"):
        check_protocol("t", 1, 4, None)


def test_kernel_refusals_are_renamed_with_table_and_version():
    exc = Exception("Kernel error: Unsupported: Feature 'fancyNewThing' is not supported")
    refused = unsupported_from_error("/x/t", 5, exc)
    assert refused is not None and refused.features == ("fancyNewThing",)
    assert "/x/t at version 5" in str(refused)
    assert unsupported_from_error("/x/t", 5, Exception("permission denied")) is None


def _write(con, path, rows):
    con.execute(f"copy (select * from (values {rows}) v(\"col-a\", \"col-b\")) to '{path}' (format parquet)")


def test_relation_renames_physical_columns_adds_partitions_and_drops_deleted_rows(tmp_path):
    con = duckdb.connect()
    first, second = tmp_path / "one.parquet", tmp_path / "two.parquet"
    _write(con, first, "(1, 'x'), (2, 'y'), (3, 'z')")
    _write(con, second, "(4, 'w')")
    plan = ScanPlan("t", 1, "name", (
        ScanColumn("a", "col-a", None, "INTEGER"), ScanColumn("b", "col-b", None, "VARCHAR"),
        ScanColumn("month", "col-m", None, "DATE", partition=True)),
        (ScanFile(str(first), ("2025-01-01",), ((1, 1),)), ScanFile(str(second), ("2025-02-01",))))
    assert not plan.plain and plan.deleted_rows == 1
    got = sorted(con.sql(relation_sql(plan)).fetchall())
    assert [(a, b, str(m)) for a, b, m in got] == [(1, "x", "2025-01-01"), (3, "z", "2025-01-01"),
                                                  (4, "w", "2025-02-01")]


def test_a_version_without_files_is_a_typed_empty_relation():
    plan = ScanPlan("t", 0, "none", (ScanColumn("a", "a", None, "BIGINT"),), ())
    relation = duckdb.sql(relation_sql(plan))
    assert relation.fetchall() == [] and relation.types == ["BIGINT"]
