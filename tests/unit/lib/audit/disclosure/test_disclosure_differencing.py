"""Differencing across releases: the issue's two attacks succeed against plain rounding and fail against keyed
rounding; the cross-release rule withholds exactly where publishing could pin a cell."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from _releases import KEYS, LLM, POLICY, SHIPPED, build_release

from trust_assets.lib.audit.disclosure.differencing import (
    CellHistory,
    check_differencing,
    feasible_width,
    ledger_entries,
    must_withhold,
)
from trust_assets.lib.audit.disclosure.protect import protect
from trust_assets.lib.publish.ledger import empty_ledger

T, B = SHIPPED.count_threshold, SHIPPED.rounding_base


def keyed_observation(y: int) -> tuple[float, float]:
    """What keyed rounding shows of y = count + u (threshold suppression or the published class)."""
    if y < T + B - 1:
        return 0.0, float(T + B - 2)
    v = B * (y // B)
    return float(max(v, T + B - 1)), float(v + B - 1)


def brute_force(true_values: list[int], shown: list[tuple[float, float]], keyed: bool) -> set[int]:
    """Every first-version count consistent with all observations and the known differences (any offset u)."""
    d = np.array(true_values) - true_values[0]
    found = set()
    for x0 in range(0, 200):
        for u in range(B if keyed else 1):
            values = x0 + d + u
            if (x0 + d >= 0).all() and all(lo <= v <= hi for v, (lo, hi) in zip(values, shown, strict=True)):
                found.add(x0)
    return found


def test_issue_attack_suppressed_9_then_published_10_pins_plain_rounding_only():
    # plain: suppressed (0..9), then 10 after +1 record (10..12): only 9 is consistent
    plain = [(0.0, 9.0), (10.0, 12.0)]
    assert brute_force([9, 10], plain, keyed=False) == {9}
    history = CellHistory(np.array([9.0, 10.0]), np.array([0.0, 10.0]), np.array([9.0, 12.0]), np.array([False] * 2))
    assert feasible_width(history, 10.0, B) == 1
    # keyed: whatever each cell's offset, the two observations leave several values
    for u in range(B):
        shown = [keyed_observation(9 + u), keyed_observation(10 + u)]
        assert len(brute_force([9, 10], shown, keyed=True)) >= 2


def test_issue_attack_35_then_40_after_one_record_pins_plain_rounding_only():
    plain = [(33.0, 37.0), (38.0, 42.0)]
    assert brute_force([37, 38], plain, keyed=False) == {37}
    for u in range(B):
        shown = [keyed_observation(37 + u), keyed_observation(38 + u)]
        candidates = brute_force([37, 38], shown, keyed=True)
        assert len(candidates) >= B and 37 in candidates


@pytest.mark.parametrize("u", range(B))
def test_closed_form_matches_brute_force_on_long_histories(u):
    rng = np.random.default_rng(u)
    for _ in range(200):
        steps = rng.integers(-3, 4, rng.integers(1, 8))
        start = int(rng.integers(0, 40))
        true = np.maximum(0, start + np.concatenate([[0], np.cumsum(steps)])).tolist()
        shown = [keyed_observation(x + u) for x in true]
        expected = brute_force(true, shown, keyed=True)
        history = CellHistory(np.array(true, float), np.array([s[0] for s in shown]),
                              np.array([s[1] for s in shown]), np.array([True] * len(true)))
        # the closed form speaks about the latest version; shift the brute force's first-version set
        width = feasible_width(history, float(true[-1]), B)
        assert width == len(expected), (true, shown)


def test_withholding_is_decided_on_public_information_only():
    # A cell that grew from 0 to 24: the world y = 24 (u = 0) would be pinned by publishing 20, so the rule
    # withholds whatever the true offset is (the true value enters only through the known difference).
    for u in range(B):
        shown = [keyed_observation(0 + u)]
        history = CellHistory(np.array([0.0]), np.array([shown[0][0]]), np.array([shown[0][1]]), np.array([True]))
        assert must_withhold(history, 24.0, SHIPPED)
        assert not must_withhold(history, 23.0, SHIPPED)


def test_check_flags_a_plain_rounding_republication_that_pins_a_cell():
    release = build_release(1, months=1, regions=1, max_districts=1, sections=1, scale=400)
    plain = replace(POLICY, margins=())
    llm = release[LLM].assign(uc_claimants=[37])
    v0 = protect({LLM: llm}, plain)
    ledger = ledger_entries({LLM: llm}, v0, plain, empty_ledger(), release_id="r0",
                            recorded_at=pd.Timestamp("2026-01-01", tz="UTC"))
    corrected = llm.assign(uc_claimants=[38])
    v1 = protect({LLM: corrected}, plain)
    entries = ledger_entries({LLM: corrected}, v1, plain, ledger, release_id="r1",
                             recorded_at=pd.Timestamp("2026-01-02", tz="UTC"))
    assert entries["cell_key"].nunique() == 1  # only the corrected cell changed
    (violation,) = [v for v in check_differencing(entries, ledger, plain) if v.column == "uc_claimants"]
    assert violation.rule == "differencing" and violation.cells == 1


def test_keyed_rounding_republication_passes_the_check_and_records_only_changes():
    release = build_release(2, months=1, regions=1, max_districts=3, sections=2, scale=60)
    policy = replace(SHIPPED, margins=())
    v0 = protect({LLM: release[LLM]}, policy, keys=KEYS)
    ledger = ledger_entries({LLM: release[LLM]}, v0, policy, empty_ledger(), release_id="r0",
                            recorded_at=pd.Timestamp("2026-01-01", tz="UTC"))
    assert set(ledger["kind"]) == {"count", "pay"}
    llm = release[LLM].copy()
    llm.loc[0, "uc_claimants"] += 1
    v1 = protect({LLM: llm}, policy, keys=KEYS, ledger=ledger)
    entries = ledger_entries({LLM: llm}, v1, policy, ledger, release_id="r1",
                             recorded_at=pd.Timestamp("2026-01-02", tz="UTC"))
    assert set(entries["measure"]) <= {"uc_claimants"} and len(entries) <= 1
    assert check_differencing(entries, ledger, policy) == []
