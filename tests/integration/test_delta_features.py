"""Delta features real department tables use, written by independent engines and read at pinned versions.

Sail (a Spark engine) writes tables with deletion vectors, column mapping (name and id), partition columns and
classic or v2 checkpoints; deltalake writes partitioned tables with checkpoints and compacted logs. Every version
the trust reads (``read_version``: the SQL dbt's staging views run) must equal the writing engine's own read of
that version. What the engines wrote is checked too, so a test cannot pass on a table without the feature.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _sail import rows, sail_session, sorted_rows

from trust_assets.lib.sources.delta_pins import read_version
from trust_assets.lib.sources.delta_scan import plan_scan

pytestmark = pytest.mark.integration

COLUMNS = ["person_id", "month", "age_band", "pay"]
SCHEMA = "person_id string, month date, age_band string, pay double"


@pytest.fixture(scope="module")
def spark():
    with sail_session() as session:
        yield session


def claims(n: int, start: int = 0) -> list[tuple]:
    return [(f"P{i:05d}", dt.date(2025, 1 + i % 4, 1), ["16-24", "25-49", "50+", None][i % 4],
             None if i % 11 == 0 else float(i) * 1.5) for i in range(start, start + n)]


def trust_rows(uri: str, version: int) -> list[tuple]:
    table = read_version(uri, version)
    return sorted_rows([tuple(r[c] for c in COLUMNS) for r in table.to_pylist()])


def sail_rows(spark, uri: str, version: int) -> list[tuple]:
    return rows(spark.read.format("delta").option("versionAsOf", version).load(uri), COLUMNS)


def log_versions(uri: str) -> list[int]:
    return sorted(int(Path(p).name[:20]) for p in glob.glob(f"{uri}/_delta_log/*.json") if Path(p).name[:20].isdigit()
                  and len(Path(p).name) == 25)


def assert_every_version_equal(spark, uri: str, versions: list[int]) -> None:
    for version in versions:
        ours, theirs = trust_rows(uri, version), sail_rows(spark, uri, version)
        assert ours == theirs, f"version {version}: {len(ours)} rows read by the trust, {len(theirs)} by Sail"


def write_featured(spark, uri: str, options: dict[str, str]) -> None:
    """v0 create (partitioned by month), v1 append, v2 delete (a deletion vector when enabled), v3 append."""
    writer = spark.createDataFrame(claims(400), SCHEMA).write.format("delta").partitionBy("month")
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.save(uri)
    spark.createDataFrame(claims(200, start=400), SCHEMA).write.format("delta").mode("append").save(uri)
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE person_id LIKE '%3' OR pay > 500")
    spark.createDataFrame(claims(50, start=600), SCHEMA).write.format("delta").mode("append").save(uri)


def physical_columns(uri: str) -> set[str]:
    return {name for f in glob.glob(f"{uri}/**/*.parquet", recursive=True) if "_delta_log" not in f
            and "_sidecars" not in f for name in pq.read_schema(f).names}


@pytest.mark.parametrize("mode", ["name", "id"])
def test_column_mapping_deletion_vectors_and_partitions_read_as_sail_reads_them(spark, tmp_path, mode):
    from deltalake import DeltaTable

    uri = str(tmp_path / f"claims_{mode}")
    write_featured(spark, uri, {"delta.columnMapping.mode": mode, "delta.enableDeletionVectors": "true"})
    table = DeltaTable(uri)
    # What Sail wrote: the features are really there.
    assert {"columnMapping", "deletionVectors"} <= set(table.protocol().reader_features)
    assert table.metadata().configuration["delta.columnMapping.mode"] == mode
    assert table.metadata().partition_columns == ["month"]
    assert pa.table(table.deletion_vectors()).num_rows > 0, "the DELETE wrote no deletion vector"
    assert not physical_columns(uri) & set(COLUMNS), "the files use logical names: column mapping is not exercised"
    plan = plan_scan(table, uri)
    assert not plan.plain and plan.mapping_mode == mode and plan.deleted_rows > 0
    assert_every_version_equal(spark, uri, log_versions(uri))


def test_classic_checkpoints_are_read_without_the_commits_before_them(spark, tmp_path):
    uri = str(tmp_path / "claims_classic")
    write_featured(spark, uri, {"delta.columnMapping.mode": "name", "delta.checkpointInterval": "2",
                                "delta.enableDeletionVectors": "true"})
    checkpoints = sorted(glob.glob(f"{uri}/_delta_log/*.checkpoint.parquet"))
    assert checkpoints, "Sail wrote no classic checkpoint"
    latest = log_versions(uri)[-1]
    expected = sail_rows(spark, uri, latest)
    first_kept = int(Path(checkpoints[-1]).name[:20])
    for commit in glob.glob(f"{uri}/_delta_log/*.json"):  # as log cleanup would: only the checkpoint remains
        if Path(commit).name[:20].isdigit() and int(Path(commit).name[:20]) < first_kept:
            os.remove(commit)
    assert trust_rows(uri, latest) == expected


def test_v2_checkpoints_with_sidecars_and_deletion_vectors(spark, tmp_path):
    from deltalake import DeltaTable

    uri = str(tmp_path / "claims_v2")
    write_featured(spark, uri, {"delta.checkpointPolicy": "v2", "delta.checkpointInterval": "2",
                                "delta.enableDeletionVectors": "true"})
    assert "v2Checkpoint" in DeltaTable(uri).protocol().reader_features
    v2 = [p for p in glob.glob(f"{uri}/_delta_log/*.checkpoint.*") if p.count("-") >= 4]
    assert v2, "Sail wrote no v2 (UUID-named) checkpoint"
    assert glob.glob(f"{uri}/_delta_log/_sidecars/*"), "the v2 checkpoint has no sidecars"
    assert_every_version_equal(spark, uri, log_versions(uri))
    latest = log_versions(uri)[-1]
    expected = sail_rows(spark, uri, latest)
    newest = max(int(Path(p).name[:20]) for p in v2)
    for commit in glob.glob(f"{uri}/_delta_log/0*.json"):
        if int(Path(commit).name[:20]) < newest:
            os.remove(commit)
    assert trust_rows(uri, latest) == expected


def test_deltalake_partitions_checkpoints_and_compacted_logs_read_as_deltalake_reads_them(tmp_path):
    from deltalake import DeltaTable, write_deltalake

    uri = str(tmp_path / "deltalake_partitioned")
    frame = pa.table({c: list(v) for c, v in zip(COLUMNS, zip(*claims(300), strict=True), strict=True)})
    write_deltalake(uri, frame.slice(0, 100), partition_by=["month", "age_band"])
    for start in (100, 200):
        write_deltalake(uri, frame.slice(start, 100), mode="append")
    DeltaTable(uri).delete("pay > 300")  # rewrites files: remove + add
    DeltaTable(uri).create_checkpoint()
    write_deltalake(uri, frame.slice(0, 10), mode="append")
    DeltaTable(uri).compact_logs(1, 3)
    assert glob.glob(f"{uri}/_delta_log/*.compacted.json"), "deltalake wrote no compacted log"
    assert DeltaTable(uri).metadata().partition_columns == ["month", "age_band"]
    assert glob.glob(f"{uri}/_delta_log/*.checkpoint.parquet")
    for version in log_versions(uri):
        engine = pa.table(DeltaTable(uri, version=version).scan())
        expected = sorted_rows([tuple(r[c] for c in COLUMNS) for r in engine.to_pylist()])
        assert trust_rows(uri, version) == expected, f"version {version}"


def test_plain_tables_keep_the_fast_path(tmp_path):
    from deltalake import DeltaTable, write_deltalake

    uri = str(tmp_path / "plain")
    write_deltalake(uri, pa.table({"a": [1, 2, 3]}))
    plan = plan_scan(DeltaTable(uri), uri)
    assert plan.plain and plan.features == ()
    assert sorted(read_version(uri).column("a").to_pylist()) == [1, 2, 3]


def test_an_unknown_reader_feature_is_refused_naming_table_version_and_feature(tmp_path):
    from deltalake import write_deltalake

    from trust_assets.lib.sources.delta_pins import SourceFeatureError

    uri = str(tmp_path / "future")
    write_deltalake(uri, pa.table({"a": [1]}))
    commit = {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["fancyNewThing"],
                           "writerFeatures": ["fancyNewThing"]}}
    (Path(uri) / "_delta_log" / f"{1:020d}.json").write_text(json.dumps({"commitInfo": {"timestamp": 1}}) + "\n"
                                                             + json.dumps(commit) + "\n")
    with pytest.raises(SourceFeatureError) as refused:
        read_version(uri)
    message = str(refused.value)
    assert uri in message and "version 1" in message and "fancyNewThing" in message
    assert sorted(read_version(uri, 0).column("a").to_pylist()) == [1]  # the version before is still readable



def test_a_run_over_a_table_with_an_unknown_feature_is_refused_and_publishes_nothing(tiny_home):
    from _corpus import run

    log = Path(tiny_home.source_table("dwp", "uc_claims")) / "_delta_log"
    head = max(int(p.name[:20]) for p in log.glob("*.json"))
    commit = {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["fancyNewThing"],
                           "writerFeatures": ["fancyNewThing"]}}
    (log / f"{head + 1:020d}.json").write_text(json.dumps({"commitInfo": {"timestamp": 1}}) + "\n"
                                               + json.dumps(commit) + "\n")
    result = run(["2025-01"])
    assert not result.success
    assert "fancyNewThing" in result.message and f"version {head + 1}" in result.message, result.message
    assert "uc_claims" in result.message
    published = Path(tiny_home.published)
    assert not published.exists() or not any(p.name != "_releases" for p in published.iterdir())


def _rewrite_with_features(spark, root: Path, key: str) -> None:
    """Replace a department table by Sail's copy with column mapping, partitions and deletion vectors: the same
    rows, plus a batch of extra rows that a DELETE then removes through a deletion vector."""
    import shutil

    src = str(root / "departments" / key)
    copy = src + "_featured"
    spark.read.format("delta").load(src).write.format("delta").option("delta.columnMapping.mode", "name") \
        .option("delta.enableDeletionVectors", "true").partitionBy("month").save(copy)
    from pyspark.sql import functions as F

    extra = spark.read.format("delta").load(src).limit(500).withColumn("person_id", F.concat(F.lit("ZZ"),
                                                                                          F.col("person_id")))
    extra.write.format("delta").mode("append").save(copy)
    spark.sql(f"DELETE FROM delta.`{copy}` WHERE person_id LIKE 'ZZ%'")
    shutil.rmtree(src)
    os.rename(copy, src)


@pytest.mark.timeout(1500)  # two tiny pipeline runs; ~9 min on the loaded shared machine
def test_the_pipeline_publishes_the_same_products_from_a_spark_written_featured_table(
        spark, tiny_home_template, tmp_path, monkeypatch):
    """dwp/uc_claims rewritten by Sail (name mapping, month partitions, deletion vectors) gives exactly the
    products the plain table gives."""
    from _corpus import product_month, run
    from _homes import copy_home, use_home
    from deltalake import DeltaTable

    from trust_assets.lib.registry.products import PRODUCTS

    plain = use_home(monkeypatch, copy_home(tiny_home_template, tmp_path / "plain"))
    assert run(["2025-01"]).success
    tiny_home = use_home(monkeypatch, copy_home(tiny_home_template, tmp_path / "featured"))

    _rewrite_with_features(spark, tiny_home.root, "dwp/uc_claims")
    featured = DeltaTable(str(tiny_home.source_table("dwp", "uc_claims")))
    assert pa.table(featured.deletion_vectors()).num_rows > 0
    result = run(["2025-01"])
    assert result.success, result.message
    for p in PRODUCTS:
        assert product_month(tiny_home.root, p.name, "2025-01").equals(
            product_month(plain.root, p.name, "2025-01")), p.name

