"""Atomic, idempotent Delta commits of a product's months (the analyst interface)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from trust_assets.lib.publish.commit import (
    committed_version,
    content_hash,
    months_predicate,
    read_months,
    replace_months,
)

GRAIN = ("month", "area")


def cells(month: dt.date, values: dict[str, int]) -> pa.Table:
    return pa.table({"month": pa.array([month] * len(values), pa.date32()), "area": list(values),
                     "people": pa.array(list(values.values()), pa.int64())})


def publish(uri: str, data: pa.Table, months: list[str], run_id: str):
    return replace_months(uri, data, product="p", month_column="month", grain=GRAIN, months=months, run_id=run_id,
                          metadata={"trust.sources": {"dwp/uc_claims": 3}})


def test_content_hash_ignores_row_order_but_not_values():
    table = cells(dt.date(2025, 1, 1), {"A": 10, "B": 20})
    shuffled = table.take([1, 0])
    assert content_hash(table, list(GRAIN)) == content_hash(shuffled, list(GRAIN))
    changed = cells(dt.date(2025, 1, 1), {"A": 10, "B": 25})
    assert content_hash(table, list(GRAIN)) != content_hash(changed, list(GRAIN))


def test_months_predicate_names_first_days_once():
    assert months_predicate("month", ["2025-02", "2025-01", "2025-02-01"]) == "month IN ('2025-01-01', '2025-02-01')"


def test_replace_months_replaces_only_the_built_months_with_provenance(tmp_path):
    uri = str(tmp_path / "p")
    first = publish(uri, pa.concat_tables([cells(dt.date(2025, 1, 1), {"A": 10}), cells(dt.date(2025, 2, 1),
                                                                                         {"A": 20})]),
                    ["2025-01", "2025-02"], "run-1")
    assert first.committed and first.version == 0
    second = publish(uri, cells(dt.date(2025, 2, 1), {"A": 25, "B": 30}), ["2025-02"], "run-2")
    assert second.committed and second.version == 1
    rows = {(r["month"], r["area"]): r["people"] for r in DeltaTable(uri).to_pyarrow_table().to_pylist()}
    assert rows == {(dt.date(2025, 1, 1), "A"): 10, (dt.date(2025, 2, 1), "A"): 25, (dt.date(2025, 2, 1), "B"): 30}
    entry = DeltaTable(uri).history(limit=1)[0]
    assert entry["trust.run_id"] == "run-2" and json.loads(entry["trust.months"]) == ["2025-02"]
    assert json.loads(entry["trust.sources"]) == {"dwp/uc_claims": 3}
    assert entry["trust.content_hash"] == second.content_hash


def test_a_retried_publish_of_the_same_run_commits_nothing(tmp_path):
    uri = str(tmp_path / "p")
    data = cells(dt.date(2025, 1, 1), {"A": 10})
    publish(uri, data, ["2025-01"], "run-1")
    retried = publish(uri, data, ["2025-01"], "run-1")
    assert not retried.committed and retried.version == 0
    assert DeltaTable(uri).version() == 0
    assert committed_version(uri, "p", "run-1") == 0 and committed_version(uri, "p", "run-2") is None


def test_read_months_filters_and_time_travels(tmp_path):
    uri = str(tmp_path / "p")
    publish(uri, pa.concat_tables([cells(dt.date(2025, 1, 1), {"A": 10}), cells(dt.date(2025, 2, 1), {"A": 20})]),
            ["2025-01", "2025-02"], "run-1")
    publish(uri, cells(dt.date(2025, 2, 1), {"A": 99}), ["2025-02"], "run-2")
    assert read_months(uri, "month", ["2025-02"]).column("people").to_pylist() == [99]
    assert read_months(uri, "month", ["2025-02"], version=0).column("people").to_pylist() == [20]
    assert read_months(uri, "month").num_rows == 2
    with pytest.raises(Exception):  # noqa: B017 - deltalake raises its own error for a version that does not exist
        read_months(uri, "month", version=7)
