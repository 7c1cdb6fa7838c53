"""Pins: a table version resolved to the files its Delta log lists, the agreed schema checked, months touched."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from _tables import claims
from deltalake import write_deltalake

from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import SourceError, SourceSchemaError, pin, touched_months


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


def test_touched_months_within_compares_only_the_months_asked_about(claims_table):
    """A table rewritten whole (one month's rows changed) compared on the rows of some months only (the sensor):
    the change is found when its month is asked about, and nothing else is reported as changed."""
    rewritten = pa.concat_tables([claims(dt.date(2025, 1, 1), n=4), claims(dt.date(2025, 2, 1)),
                                  claims(dt.date(2025, 3, 1))])
    write_deltalake(claims_table, rewritten, mode="overwrite")
    assert touched_months(UC_CLAIMS, claims_table, 2, 3) == {"2025-01"}
    assert touched_months(UC_CLAIMS, claims_table, 2, 3, within={"2025-01", "2025-03"}) == {"2025-01"}
    assert touched_months(UC_CLAIMS, claims_table, 2, 3, within={"2025-02", "2025-03"}) == set()
    assert touched_months(UC_CLAIMS, claims_table, 2, 3, within=set()) == set()
    assert touched_months(UC_CLAIMS, claims_table, None, 3, within={"2025-03-01", "2026-01"}) == {"2025-03"}
    with pytest.raises(ValueError, match="not a month: '2025-1x'"):
        touched_months(UC_CLAIMS, claims_table, 2, 3, within={"2025-1x"})
