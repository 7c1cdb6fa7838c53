"""The one owner of months: parsing, arithmetic and month specs, with errors that name the problem."""

from __future__ import annotations

import datetime as dt

import pytest

from trust_assets.lib.months import (
    contiguous_blocks,
    first_day,
    iter_months,
    month_bounds,
    month_range,
    month_start,
    parse_month,
    parse_month_spec,
    shift_month,
)


@pytest.mark.parametrize("bad", ["2025-13", "25-01", "January", "2025-00", "", "2025-1", "2025/01"])
def test_month_start_rejects_non_months(bad):
    with pytest.raises(ValueError, match="not a month"):
        month_start(bad)


def test_parsing_accepts_months_days_and_dates():
    assert parse_month("2025-03") == parse_month("2025-03-17") == parse_month(dt.date(2025, 3, 31)) == "2025-03"
    assert month_start(" 2025-03 ") == "2025-03-01" and first_day("2025-03") == dt.date(2025, 3, 1)


def test_month_arithmetic_and_blocks():
    assert shift_month("2025-01", -1) == "2024-12" and shift_month("2024-12", 1) == "2025-01"
    assert shift_month("2025-07", -6) == "2025-01" and shift_month("2025-07", -19) == "2023-12"
    assert shift_month(dt.date(2020, 2, 29), 12) == "2021-02"
    assert contiguous_blocks(["2025-03", "2025-01", "2025-02", "2025-06", "2025-02"]) == [
        ["2025-01", "2025-02", "2025-03"], ["2025-06"]]
    assert contiguous_blocks(["2024-12", "2025-01"]) == [["2024-12", "2025-01"]]


def test_ranges_bounds_and_runs_of_months():
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range("2025-02", "2025-01") == []
    assert list(iter_months("2024-12", 3)) == ["2024-12", "2025-01", "2025-02"]
    assert month_bounds("2024-12") == ("2024-12-01", "2025-01-01")
    assert month_bounds("2025-01", offset=6) == ("2025-07-01", "2025-08-01")


AVAILABLE = ["2025-01", "2025-02", "2025-03", "2025-04"]


def test_month_specs():
    assert parse_month_spec(None, AVAILABLE) == AVAILABLE == parse_month_spec("all", list(reversed(AVAILABLE)))
    assert parse_month_spec("2025-02..2025-03", AVAILABLE) == ["2025-02", "2025-03"]
    assert parse_month_spec("2025-04,2025-01", AVAILABLE) == ["2025-01", "2025-04"]


@pytest.mark.parametrize(("spec", "message"), [
    ("2025-03..2025-01", "ends before it starts"),
    ("2024-12..2025-01", "no source data for 2024-12"),
    ("2025-1x", "not a month: '2025-1x'"),
])
def test_month_specs_name_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_month_spec(spec, AVAILABLE)


def test_no_months_yet_says_what_to_do():
    with pytest.raises(ValueError, match="trust synth"):
        parse_month_spec(None, [])
