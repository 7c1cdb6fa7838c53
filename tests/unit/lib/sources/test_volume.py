"""Structural source rules: every built month present, none collapsed against the month before."""

from __future__ import annotations

import datetime as dt

from _tables import claims
from deltalake import write_deltalake

from trust_assets.lib.registry.sources import BUSINESS_REGISTER, UC_CLAIMS
from trust_assets.lib.sources.delta_pins import pin
from trust_assets.lib.sources.volume import check_volume, month_row_counts


def test_counts_cover_the_built_months_and_the_month_before(claims_table):
    counts = month_row_counts(pin(UC_CLAIMS, claims_table), ["2025-02", "2025-03"])
    assert counts == {"2025-01": 3, "2025-02": 3, "2025-03": 3}


def test_every_built_month_present_passes(claims_table):
    result = check_volume(UC_CLAIMS, pin(UC_CLAIMS, claims_table), ["2025-02", "2025-03"])
    assert result.passed, result.description


def test_a_missing_month_blocks_and_says_which(claims_table):
    result = check_volume(UC_CLAIMS, pin(UC_CLAIMS, claims_table), ["2025-04"])
    assert not result.passed and "2025-04 has no rows" in result.description


def test_a_collapsed_month_blocks_with_the_fall_and_the_limit(tmp_path):
    uri = str(tmp_path / "uc_claims")
    write_deltalake(uri, claims(dt.date(2025, 1, 1), n=10))
    write_deltalake(uri, claims(dt.date(2025, 2, 1), n=4), mode="append")
    result = check_volume(UC_CLAIMS, pin(UC_CLAIMS, uri), ["2025-02"])
    assert not result.passed
    assert "2025-02 has 4 rows, 60% fewer than 2025-01 (10)" in result.description
    assert "the limit is 50%" in result.description
    write_deltalake(uri, claims(dt.date(2025, 3, 1), n=3), mode="append")  # 25% fewer: within the limit
    assert check_volume(UC_CLAIMS, pin(UC_CLAIMS, uri), ["2025-03"]).passed


def test_a_table_that_is_not_a_monthly_stock_only_needs_rows(tmp_path):
    import pyarrow as pa

    uri = str(tmp_path / "business_register")
    write_deltalake(uri, pa.Table.from_pylist([], schema=BUSINESS_REGISTER.schema))
    result = check_volume(BUSINESS_REGISTER, pin(BUSINESS_REGISTER, uri), ["2025-01"])
    assert not result.passed and "the table is empty" in result.description


def _paye_like(tmp_path, counts: dict[int, int]) -> str:
    uri = str(tmp_path / "monthly")
    for month, n in counts.items():
        write_deltalake(uri, claims(dt.date(2025, month, 1), n=n), mode="append")
    return uri


def test_follow_up_months_read_are_checked_like_built_months(tmp_path):
    uri = _paye_like(tmp_path, {1: 10, 2: 10, 3: 10, 4: 10, 5: 3})
    pinned = pin(UC_CLAIMS, uri)
    assert check_volume(UC_CLAIMS, pinned, ["2025-01"]).passed  # the built month alone is fine
    result = check_volume(UC_CLAIMS, pinned, ["2025-01"], follow_ups=["2025-04", "2025-05"])
    assert not result.passed and "2025-05 has 3 rows, 70% fewer than 2025-04 (10)" in result.description
    assert result.metadata["months_read"] == ["2025-01", "2025-04", "2025-05"]


def test_a_follow_up_month_beyond_the_newest_month_is_not_yet_observable(tmp_path):
    uri = _paye_like(tmp_path, {1: 10, 2: 10, 3: 10})
    result = check_volume(UC_CLAIMS, pin(UC_CLAIMS, uri), ["2025-01"], follow_ups=["2025-04", "2025-07"])
    assert result.passed, result.description
    assert result.metadata["months_read"] == ["2025-01"]


def test_a_follow_up_month_missing_inside_the_table_blocks(tmp_path):
    uri = _paye_like(tmp_path, {1: 10, 2: 10, 3: 10, 5: 10})
    result = check_volume(UC_CLAIMS, pin(UC_CLAIMS, uri), ["2025-01"], follow_ups=["2025-04"])
    assert not result.passed and "2025-04 has no rows" in result.description
