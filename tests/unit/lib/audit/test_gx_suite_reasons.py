"""Every suite accepts every suppression reason the policy can give (a cross_release withholding once failed the
GX gate and blocked the republication it protected)."""

from __future__ import annotations

import json
import re

import pytest

from trust_assets.lib.paths import PROJECT_ROOT
from trust_assets.lib.registry.cell_status import REASONS, STATUS_SUPPRESSED_PREFIX
from trust_assets.lib.registry.products import PRODUCTS


@pytest.mark.parametrize("name", [p.name for p in PRODUCTS])
def test_the_suite_knows_every_suppression_reason(name):
    suite = json.loads((PROJECT_ROOT / "expectations" / f"{name}.json").read_text())
    expectations = suite["expectations"]
    regexes = [e["kwargs"]["regex"] for e in expectations
               if e["type"] == "expect_column_values_to_match_regex" and e["kwargs"]["column"] == "suppression"]
    assert regexes
    for reason in REASONS:
        assert all(re.match(rx, f"a_column:{reason}") for rx in regexes), reason
    status_sets = [e["kwargs"]["value_set"] for e in expectations
                   if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"].endswith("_status")]
    assert status_sets
    for values in status_sets:
        assert {STATUS_SUPPRESSED_PREFIX + r for r in REASONS} <= set(values)
