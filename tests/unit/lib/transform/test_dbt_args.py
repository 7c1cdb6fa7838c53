"""dbt's arguments: the run's pins and months in the environment, the command line the same every run."""

from __future__ import annotations

import json

import pytest

from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import pin
from trust_assets.lib.transform.dbt_args import RUN_VARS_ENV, dbt_build_args, dbt_vars


def test_dbt_vars_carry_pins_and_month_bounds(claims_table):
    pins = {"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 1)}
    built = dbt_vars(pins, ["2025-02", "2025-01"])
    assert built["trust_month_start"] == "2025-01-01" and built["trust_month_end"] == "2025-02-01"
    assert built["trust_sources"]["dwp/uc_claims"]["version"] == 1
    assert built["trust_follow_up_months"] == [3, 6]  # from the products registry, read by the screening
    build = dbt_build_args(pins, ["2025-01"], select="marts")
    assert build.args == ["build", "--select", "marts"]
    run_vars = json.loads(build.env[RUN_VARS_ENV])
    assert run_vars["trust_sources"]["dwp/uc_claims"]["files"] == list(pins["dwp/uc_claims"].files)
    assert run_vars["trust_month_start"] == run_vars["trust_month_end"] == "2025-01-01"
    with pytest.raises(ValueError, match="at least one month"):
        dbt_vars(pins, [])


def test_the_command_line_is_the_same_whatever_the_pins_and_months(claims_table):
    """dbt re-parses the whole project when --vars change: a run's own values must not reach its command line."""
    one = dbt_build_args({"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 0)}, ["2025-01"])
    other = dbt_build_args({"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 1)}, ["2025-02", "2025-03"])
    assert one.args == other.args == ["build"]
    assert one.env != other.env
    spark = dbt_build_args({}, ["2025-01"], target="spark", extra_vars={"trust_spark_marts": "/m"})
    assert spark.args == ["build", "--vars", '{"trust_spark_marts": "/m"}', "--target", "spark"]


def test_pins_too_large_for_the_environment_are_refused_by_name(claims_table, monkeypatch):
    monkeypatch.setattr("trust_assets.lib.transform.dbt_args.MAX_RUN_VARS_BYTES", 100)
    with pytest.raises(ValueError, match=r"\(TRUST_DBT_RUN_VARS\) can carry to dbt: a pinned table lists too many"):
        dbt_build_args({"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 1)}, ["2025-01"])
