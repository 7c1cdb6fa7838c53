"""The products registry says which months of which source a run reads besides the built ones."""

from __future__ import annotations

from trust_assets.lib.registry.products import FOLLOW_UP_MONTHS, OUTCOME_SOURCE, follow_up_months_read


def test_outcome_cohorts_read_payroll_at_their_follow_up_months():
    assert FOLLOW_UP_MONTHS == (3, 6) and OUTCOME_SOURCE == "hmrc/paye_employments"
    assert follow_up_months_read(OUTCOME_SOURCE, ["2025-06"]) == ["2025-09", "2025-12"]
    # a follow-up month that is itself built is not listed twice
    assert follow_up_months_read(OUTCOME_SOURCE, ["2025-01", "2025-04"]) == ["2025-07", "2025-10"]


def test_other_sources_are_read_for_the_built_months_only():
    assert follow_up_months_read("dwp/uc_claims", ["2025-06"]) == []
