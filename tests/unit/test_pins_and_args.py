"""Pins, dbt arguments, month handling and the sensor's month arithmetic."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from trust_assets.defs.sources.sensors import months_to_request
from trust_assets.lib.months import contiguous_blocks, month_start, shift_month
from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import SourceError, SourceSchemaError, pin, touched_months
from trust_assets.lib.transform.dbt_args import dbt_build_args, dbt_vars


def claims(month: dt.date, n: int = 3) -> pa.Table:
    rows = {
        "person_id": [f"P{i}" for i in range(n)], "month": [month] * n, "residence_la_code": ["E06000001"] * n,
        "age_band": ["25-34"] * n, "sex": ["F"] * n, "disability": [False] * n,
        "conditionality_regime": ["searching_for_work"] * n, "claim_start_date": [month] * n,
    }
    return pa.Table.from_pydict(rows, schema=UC_CLAIMS.schema)


@pytest.fixture
def claims_table(tmp_path):
    uri = str(tmp_path / "uc_claims")
    write_deltalake(uri, claims(dt.date(2025, 1, 1)))
    write_deltalake(uri, claims(dt.date(2025, 2, 1)), mode="append")
    write_deltalake(uri, claims(dt.date(2025, 3, 1)), mode="append")
    return uri


def test_pin_lists_exactly_the_files_of_the_version(claims_table):
    assert len(pin(UC_CLAIMS, claims_table, 0).files) == 1
    latest = pin(UC_CLAIMS, claims_table)
    assert latest.version == 2 and len(latest.files) == 3 and latest.row_count == 9
    assert [span[1] for span in latest.file_spans] and {s[1] for s in latest.file_spans} == {
        "2025-01", "2025-02", "2025-03"}
    assert latest.bytes_overlapping("2025-02", "2025-02") < latest.size_bytes


def test_pin_refuses_a_missing_table_and_a_missing_version(tmp_path, claims_table):
    with pytest.raises(SourceError, match="no Delta table"):
        pin(UC_CLAIMS, str(tmp_path / "nowhere"))
    with pytest.raises(SourceError, match="version 9"):
        pin(UC_CLAIMS, claims_table, 9)


def test_pin_names_renamed_and_retyped_columns(tmp_path):
    uri = str(tmp_path / "bad")
    table = claims(dt.date(2025, 1, 1)).rename_columns(
        ["person_id", "month", "la_code", "age_band", "sex", "disability", "conditionality_regime",
         "claim_start_date"])
    table = table.set_column(5, "disability", pa.array(["no"] * 3))
    write_deltalake(uri, table)
    with pytest.raises(SourceSchemaError) as err:
        pin(UC_CLAIMS, uri)
    message = str(err.value)
    assert "missing columns ['residence_la_code']" in message
    assert "unexpected columns ['la_code']" in message
    assert "disability (string, expected bool)" in message


def test_touched_months_sees_a_late_correction(claims_table):
    assert touched_months(UC_CLAIMS, claims_table, 1, 2) == {"2025-03"}
    write_deltalake(claims_table, claims(dt.date(2025, 1, 1), n=4), mode="overwrite",
                    predicate="month = '2025-01-01'")
    assert touched_months(UC_CLAIMS, claims_table, 2, 3) == {"2025-01"}
    assert touched_months(UC_CLAIMS, claims_table, None, 3) == {"2025-01", "2025-02", "2025-03"}


def test_dbt_vars_carry_pins_and_month_bounds(claims_table):
    pins = {"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 1)}
    built = dbt_vars(pins, ["2025-02", "2025-01"])
    assert built["trust_month_start"] == "2025-01-01" and built["trust_month_end"] == "2025-02-01"
    assert built["trust_sources"]["dwp/uc_claims"]["version"] == 1
    args = dbt_build_args(pins, ["2025-01"], select="marts")
    assert args[0] == "build" and args[-2:] == ["--select", "marts"]
    assert json.loads(args[2])["trust_sources"]["dwp/uc_claims"]["files"] == list(pins["dwp/uc_claims"].files)
    with pytest.raises(ValueError, match="at least one month"):
        dbt_vars(pins, [])


@pytest.mark.parametrize("bad", ["2025-13", "25-01", "January", "2025-00"])
def test_month_start_rejects_non_months(bad):
    with pytest.raises(ValueError, match="not a month"):
        month_start(bad)


def test_month_arithmetic_and_blocks():
    assert shift_month("2025-01", -1) == "2024-12" and shift_month("2024-12", 1) == "2025-01"
    assert shift_month("2025-07", -6) == "2025-01"
    assert contiguous_blocks(["2025-03", "2025-01", "2025-02", "2025-06"]) == [
        ["2025-01", "2025-02", "2025-03"], ["2025-06"]]


def test_sensor_requests_follow_up_cohorts_only_for_payroll_changes():
    assert months_to_request({"hmrc/paye_employments": {"2025-09"}}) == ["2025-03", "2025-06", "2025-09"]
    assert months_to_request({"dwp/uc_claims": {"2025-09"}}) == ["2025-09"]
    assert months_to_request({}) == []
