"""The engine setting: one validation for the CLI options, the environment and the Dagster resource."""

from __future__ import annotations

import pytest

from trust_assets.lib.transform.engine import Engine, EngineError, existing_delta_tables, spark_dbt_vars


def test_duckdb_is_the_default(monkeypatch):
    monkeypatch.delenv("TRUST_ENGINE", raising=False)
    monkeypatch.setenv("TRUST_SPARK_REMOTE", "sc://ignored:1")
    engine = Engine.from_env()
    assert (engine.name, engine.spark_remote, engine.dbt_target, engine.is_spark) == ("duckdb", "", "duckdb", False)


@pytest.mark.parametrize("remote", ["sc://127.0.0.1:15002", "sc://spark.internal:443/;use_ssl=true;token=x",
                                    "sc://[::1]:15002"])
def test_spark_takes_a_spark_connect_url(remote):
    engine = Engine("spark", remote)
    assert engine.is_spark and engine.dbt_target == "spark" and remote in engine.describe()


@pytest.mark.parametrize(("name", "remote", "message"), [
    ("spark", "", "needs a Spark Connect URL"),
    ("spark", "http://127.0.0.1:15002", "is not a Spark Connect URL"),
    ("spark", "sc://127.0.0.1", "is not a Spark Connect URL"),
    ("spark", "sc://127.0.0.1:99999", "is not a Spark Connect URL"),
    ("postgres", "", "unknown engine 'postgres'"),
])
def test_a_bad_setting_names_the_problem(name, remote, message):
    with pytest.raises(EngineError, match=message):
        Engine(name, remote)


def test_command_line_choice_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("TRUST_ENGINE", "spark")
    monkeypatch.setenv("TRUST_SPARK_REMOTE", "sc://env:1")
    assert Engine.choose(None, None) == Engine("spark", "sc://env:1")
    assert Engine.choose(None, "sc://cli:2") == Engine("spark", "sc://cli:2")
    assert Engine.choose("duckdb", None) == Engine("duckdb", "")


def test_export_is_what_later_runs_read(monkeypatch):
    monkeypatch.delenv("TRUST_ENGINE", raising=False)
    Engine("spark", "sc://127.0.0.1:7").export()
    assert Engine.from_env() == Engine("spark", "sc://127.0.0.1:7")
    Engine().export()
    assert Engine.from_env() == Engine()


def test_spark_vars_declare_the_columns_of_existing_marts(tmp_path):
    import datetime as dt

    import pyarrow as pa
    from deltalake import write_deltalake

    marts, scratch = tmp_path / "marts", tmp_path / "scratch"
    assert spark_dbt_vars(marts, scratch)["trust_spark_existing"] == {}
    schema = pa.schema([pa.field("month", pa.date32(), nullable=False), ("local_authority_code", pa.string()),
                        ("uc_claimants", pa.int64()), ("ssa_tier1", pa.int32()), ("median_monthly_pay", pa.float64()),
                        ("nsf_funded", pa.bool_())])
    write_deltalake(str(marts / "local_labour_market_monthly"), pa.Table.from_pylist([
        {"month": dt.date(2025, 1, 1), "local_authority_code": "E07000223", "uc_claimants": 3, "ssa_tier1": 1,
         "median_monthly_pay": 1.5, "nsf_funded": True}], schema=schema))
    (marts / "half_written").mkdir()
    assert spark_dbt_vars(marts, scratch) == {
        "trust_spark_marts": str(marts), "trust_spark_scratch": str(scratch),
        "trust_spark_existing": {"local_labour_market_monthly": "`month` date not null, `local_authority_code` string, "
                                 "`uc_claimants` bigint, `ssa_tier1` int, `median_monthly_pay` double, "
                                 "`nsf_funded` boolean"}}
    assert list(existing_delta_tables(marts)) == ["local_labour_market_monthly"]
