"""The release ledger: append-only, once per release, refused when stale; cells named the same in every release."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.publish.ledger import (
    LedgerError,
    append_release,
    cell_history,
    cell_keys,
    empty_ledger,
    ledger_version,
    read_ledger,
    release_changes,
    write_candidate_entries,
)


def entries(release_id: str, value: float, shown: float | None, reason: str | None = None) -> pd.DataFrame:
    row = {"release_id": release_id, "recorded_at": pd.Timestamp("2026-01-01", tz="UTC"), "policy_version": "2026.2",
           "product": "local_labour_market_monthly", "month": "2025-09", "cell_key": "2025-09|E07000125",
           "measure": "uc_claimants", "kind": "count", "true_value": value, "published_value": shown,
           "reason": reason, "noise": "keyed:5", "observed_low": 0.0, "observed_high": None}
    return pd.DataFrame([row], columns=list(empty_ledger().columns))


def test_cell_keys_are_the_grain_with_the_month_as_year_month():
    frame = pd.DataFrame({"month": [dt.date(2025, 9, 1)], "local_authority_code": ["E07000125"]})
    assert cell_keys(frame, ("month", "local_authority_code"), "month").tolist() == ["2025-09|E07000125"]


def test_append_once_per_release_and_history_in_order(tmp_path):
    paths = TrustPaths(tmp_path).ensure()
    write_candidate_entries(paths, entries("r0", 9, None, "threshold"), "r0", None)
    assert append_release(paths, "r0") == 1
    assert append_release(paths, "r0") == 0  # a retried publish does not append twice
    write_candidate_entries(paths, entries("r1", 10, 10), "r1", ledger_version(str(paths.disclosure_ledger)))
    assert append_release(paths, "r1") == 1
    history = cell_history(paths, "local_labour_market_monthly", "2025-09|E07000125")
    assert history["release_id"].tolist() == ["r0", "r1"]
    assert history["reason"].tolist()[0] == "threshold" and history["published_value"].tolist()[1] == 10
    chosen, changed = release_changes(paths)
    assert chosen == "r1" and changed["previous_reason"].tolist() == ["threshold"]
    assert len(read_ledger(str(paths.disclosure_ledger), months=["2025-10"])) == 0


def test_stale_or_foreign_entries_are_refused(tmp_path):
    paths = TrustPaths(tmp_path).ensure()
    with pytest.raises(LedgerError, match="no audited ledger entries"):
        append_release(paths, "r0")
    write_candidate_entries(paths, entries("r0", 9, None, "threshold"), "r0", None)
    with pytest.raises(LedgerError, match="audited by run r0, not this run r9"):
        append_release(paths, "r9")
    append_release(paths, "r0")
    # r1 was audited before r0 reached the ledger: its differencing check is stale
    write_candidate_entries(paths, entries("r1", 10, 10), "r1", None)
    with pytest.raises(LedgerError, match="stale"):
        append_release(paths, "r1")
    assert read_ledger(str(paths.disclosure_ledger))["release_id"].tolist() == ["r0"]
