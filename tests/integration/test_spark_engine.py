"""The Spark engine: the same dbt project on Sail (a Spark Connect server the tests start with scripts/services.sh).

Parity: the same pins built on DuckDB and on Sail publish identical products, cell by cell, and dbt's tests give the
same results; a second run on Sail extends the marts an earlier run left (incremental across sessions). Canaries:
each engine bug the dbt project works around (dbt_project/macros/cross_db/) has a test here that fails once the
bug is fixed, so the workaround can go.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.timeout(1800)]


#: One run of two months, then an incremental run of the third: small, and it crosses a session boundary.
FIRST_RUN, SECOND_RUN = ["2025-01", "2025-02"], ["2025-03"]


@pytest.fixture(scope="module")
def spark(spark_remote):
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(spark_remote).getOrCreate()
    yield session
    session.stop()


def _fails(spark, sql: str) -> str:
    """The first line of the error ``sql`` raises on the server ('' if it runs)."""
    try:
        spark.sql(sql).collect()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return ""


# --- canaries: each fails when the engine bug its workaround names is fixed -------------------------------------


def test_sail_still_reads_epoch_seconds_as_microseconds(spark):
    """macros/cross_db/dates.sql: spark__trust_add_months_sql uses add_months, not dbt-spark's dateadd."""
    value = spark.sql("select cast(to_timestamp(86400) as string) as t").collect()[0].t
    assert value != "1970-01-02 00:00:00", "Sail reads to_timestamp(seconds) right now: use dbt.dateadd again"
    assert value.startswith("1970-01-01 00:00:00.0864")


def test_sail_still_breaks_views_over_quoted_identifiers(spark, tmp_path):
    """macros/cross_db/relations.sql (reference staging as tables) and macros/cross_db/delta_source.sql (sources by
    name): a stored view loses the backticks around `-` and `/`, so it cannot be queried."""
    table = tmp_path / "hyphenated"
    spark.sql(f"create table canary_hyphenated using delta location '{table}' as select 'A' as `local-authority-code`")
    spark.sql("create or replace view canary_hyphenated_view as select `local-authority-code` as code "
              "from canary_hyphenated")
    assert "is missing from the schema" in _fails(spark, "select * from canary_hyphenated_view"), \
        "Sail queries views over hyphenated columns now: reference staging can be a view on Spark too"
    spark.sql(f"create or replace view canary_path_view as select * from delta.`{table}`")
    assert "expected identifier" in _fails(spark, "select * from canary_path_view"), \
        "Sail queries views over delta.`<path>` now: sources need no registration by name"


def test_sail_still_runs_single_partition_writes_on_the_driver(tmp_path):
    """macros/cross_db/relations.sql: spark__create_table_as puts every Spark write's query behind `rand() >= 0`.

    Sail (local-cluster, 2 workers) runs a Delta commit on the driver with everything under it down to the first
    shuffle; the driver's session has no DataFusion built-ins, so a one-partition write calling upper/lower/trim
    fails (deterministically: scripts/sail_driver_udf_repro.py shows the plan). The filter puts a shuffle under
    the commit, and the query on the workers."""
    from _services import running_service
    from pyspark.sql import SparkSession

    with running_service("spark", "--mode", "local-cluster", "--workers", "2") as url:
        session = SparkSession.builder.remote(url).getOrCreate()
        try:
            # one VALUES partition: a one-file Delta table, so a one-partition scan
            session.sql(f"create or replace table canary_source using delta location '{tmp_path / 'source'}' "
                        "as select x from values ('a'), ('b') as t(x)").collect()
            assert len(list((tmp_path / "source").glob("*.parquet"))) == 1

            def ctas(name: str, select: str) -> str:
                return _fails(session, f"create or replace table canary_{name} using delta location "
                                       f"'{tmp_path / name}' as {select}")

            # dbt-spark's statement for a Delta table model, with the functions the reference staging calls
            errors = {name: ctas(name, f"select {name}(x) as u from canary_source")
                      for name in ("upper", "lower", "trim")}
            worked_around = ctas("wrapped", "select * from (select upper(x) as u from canary_source) "
                                            "as trust_on_workers where rand() >= 0")
            written = session.sql("select u from canary_wrapped order by u").collect()
        finally:
            session.stop()
    assert all("no UDF found for" in error for error in errors.values()), \
        f"Sail local-cluster writes one-partition queries with built-ins now ({errors}): drop the rand() filter"
    assert worked_around == "", f"the workaround no longer works: {worked_around}"
    assert [r.u for r in written] == ["A", "B"], "the always-true filter kept every row"


def test_dbt_spark_still_binds_seed_values_unescaped():
    """macros/cross_db/seeds.sql: spark__load_csv_rows writes escaped literals instead of dbt-spark's bindings."""
    from dbt.adapters.spark.session import SessionConnectionWrapper

    assert SessionConnectionWrapper._fix_binding(None) == "'None'", "dbt-spark binds None as null now"
    assert SessionConnectionWrapper._fix_binding("King's Lynn") == "'King's Lynn'", "dbt-spark escapes quotes now"


# --- parity --------------------------------------------------------------------------------------------------------


def use_home(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("TRUST_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(TrustPaths(root).dagster_home))


def _run(root: Path, months: list[str], engine: str, spark_remote: str = "") -> list:
    from trust_assets.runs.execute import run_months

    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, root)
        monkeypatch.setenv("TRUST_ENGINE", engine)
        monkeypatch.setenv("TRUST_SPARK_REMOTE", spark_remote)
        outcomes = run_months(TrustPaths(root), months, echo=lambda *_: None)
    assert [o.success for o in outcomes] == [True] * len(outcomes), [o.message for o in outcomes]
    return outcomes


def _check_results(root: Path, run_id: str) -> dict[str, tuple[bool, str]]:
    """Every check a run evaluated (dbt tests, source checks, the audit): name -> (passed, severity)."""
    from dagster import DagsterEventType, DagsterInstance

    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, root)
        instance = DagsterInstance.get()
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
        results = {}
        for record in records:
            data = record.event_log_entry.dagster_event.asset_check_evaluation_data
            results[f"{data.asset_key.to_user_string()}:{data.check_name}"] = (
                data.passed, data.severity.value if data.severity else "ERROR")
        instance.dispose()
    return results


@pytest.fixture(scope="module")
def parity_homes(tiny_home_template, tmp_path_factory, spark_remote):
    """Two copies of the tiny home, the same runs on each: one on DuckDB, one on Sail."""
    homes = {"template": (tiny_home_template, [])}
    for engine in ("duckdb", "spark"):
        root = tmp_path_factory.mktemp(f"parity-{engine}") / "home"
        shutil.copytree(tiny_home_template, root, symlinks=True)
        runs = [_run(root, months, engine, spark_remote if engine == "spark" else "")[0].run_id
                for months in (FIRST_RUN, SECOND_RUN)]
        homes[engine] = (root, runs)
    return homes


def _published(root: Path, name: str):
    from deltalake import DeltaTable

    from trust_assets.lib.registry.products import product

    frame = DeltaTable(str(TrustPaths(root).published_product(name))).to_pandas()
    return frame.sort_values(list(product(name).grain)).reset_index(drop=True)


def test_duckdb_and_sail_publish_identical_products(parity_homes):
    import pandas as pd

    (duck, _), (spark, _) = parity_homes["duckdb"], parity_homes["spark"]
    for p in PRODUCTS:
        on_duckdb, on_spark = _published(duck, p.name), _published(spark, p.name)
        assert len(on_duckdb) > 0, p.name
        pd.testing.assert_frame_equal(on_duckdb, on_spark, check_exact=True, obj=p.name)


def test_duckdb_and_sail_give_the_same_check_results(parity_homes):
    (duck, duck_runs), (spark, spark_runs) = parity_homes["duckdb"], parity_homes["spark"]
    for duck_run, spark_run in zip(duck_runs, spark_runs, strict=True):
        on_duckdb, on_spark = _check_results(duck, duck_run), _check_results(spark, spark_run)
        assert len(on_duckdb) > 80  # every dbt test, the source checks and the audit
        assert on_duckdb == on_spark
        assert any(not passed for passed, _ in on_spark.values()), "the tiny home has warn-level row rule findings"


def test_sail_marts_are_delta_tables_that_extend_across_runs(parity_homes):
    """The second run (a new Spark session) found the marts by location and appended its month."""
    from deltalake import DeltaTable

    spark_root, _ = parity_homes["spark"]
    paths = TrustPaths(spark_root)
    mart = DeltaTable(str(paths.spark_marts / "local_labour_market_monthly"))
    months = sorted({str(m)[:7] for m in mart.to_pandas()["month"]})
    assert months == [*FIRST_RUN, *SECOND_RUN]
    assert not paths.spark_scratch.exists(), "person-level scratch tables are removed after the run"
    # the departments' tables were read in place, never written: registering them by name added no commit
    template = TrustPaths(parity_homes["template"][0])
    from trust_assets.lib.registry.sources import SOURCE_TABLES

    for t in SOURCE_TABLES:
        assert (DeltaTable(str(paths.source_table(t.dept, t.table))).version()
                == DeltaTable(str(template.source_table(t.dept, t.table))).version()), t.key
