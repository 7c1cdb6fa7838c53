"""Product-level plausibility (lib/audit/plausibility.py): coverage against the last published version and the
sources, with the limits of policies/plausibility.yaml."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trust_assets.lib.audit.plausibility import (
    PlausibilityPolicyError,
    baseline_month,
    check_product,
    load_plausibility,
    month_figures,
    parse_plausibility,
)

SRM = "sector_region_monthly"
POLICY = load_plausibility()


def sector(month: str, employees: list[int | None], reasons: list[str | None] | None = None) -> pd.DataFrame:
    """A published-shaped sector_region_monthly month: one region, one section per value."""
    n = len(employees)
    return pd.DataFrame({
        "month": [dt.date.fromisoformat(f"{month}-01")] * n, "region": ["North East"] * n,
        "sic_section": [chr(ord("A") + i) for i in range(n)],
        "payrolled_employees": employees, "employer_businesses": [50] * n, "business_births": [10] * n,
        "business_deaths": [10] * n, "median_monthly_pay": [2000.0] * n,
        "suppression": reasons or [None] * n,
    })


def test_shipped_policy_is_versioned_and_covers_every_product():
    from trust_assets.lib.registry.products import PRODUCTS

    assert POLICY.version and set(POLICY.products) == {p.name for p in PRODUCTS}
    assert 0 < POLICY.max_month_row_loss < 1


def test_policy_errors_name_the_field():
    import yaml

    from trust_assets.lib.audit.plausibility import DEFAULT_PLAUSIBILITY_PATH

    raw = yaml.safe_load(DEFAULT_PLAUSIBILITY_PATH.read_text())
    raw["products"][SRM]["covered"]["no_such_count"] = {"max_drop": 0.1}
    with pytest.raises(PlausibilityPolicyError, match=r"products.sector_region_monthly.covered.no_such_count"):
        parse_plausibility(raw)
    raw = yaml.safe_load(DEFAULT_PLAUSIBILITY_PATH.read_text())
    raw["products"][SRM]["max_suppressed_share_rise"] = 3
    with pytest.raises(PlausibilityPolicyError, match="max_suppressed_share_rise"):
        parse_plausibility(raw)


def test_month_figures_count_suppressed_count_cells_and_published_totals():
    frame = sector("2025-01", [100, None, 40], [None, "payrolled_employees:threshold", None])
    figures = month_figures(frame, SRM)["2025-01"]
    # 4 count columns x 3 rows, one value withheld (counted as a cell, not as held)
    assert figures["cells"] == 12 and figures["suppressed"] == 1
    assert figures["payrolled_employees"] == 140


def test_baseline_is_the_same_month_when_published_else_the_newest_before():
    assert baseline_month("2025-03", ["2025-01", "2025-03"]) == "2025-03"
    assert baseline_month("2025-04", ["2025-01", "2025-03"]) == "2025-03"
    assert baseline_month("2025-01", ["2025-02"]) is None


def test_a_wiped_product_blocks_naming_product_measure_before_after_and_limit():
    before = sector("2025-01", [300] * 30)
    after = sector("2025-01", [None] * 30, ["payrolled_employees:threshold;employer_businesses:threshold"] * 30)
    after["employer_businesses"] = None

    findings = check_product(SRM, after, before, None, POLICY)
    failed = {f.measure: f for f in findings if not f.passed}

    assert {"suppressed_share", "payrolled_employees", "employer_businesses"} <= set(failed)
    employees = failed["payrolled_employees"]
    assert (employees.before, employees.after) == (9000, 0)
    assert "sector_region_monthly" in employees.message and "9,000 to 0" in employees.message
    assert "-25%" in employees.message and POLICY.version in employees.message
    assert "0.0% (0 of 120) to 50.0% (60 of 120)" in failed["suppressed_share"].message


def test_ordinary_month_on_month_movement_passes():
    before = sector("2025-01", [300] * 30)
    after = sector("2025-02", [280] * 29 + [None], [None] * 29 + ["payrolled_employees:threshold"])
    assert all(f.passed for f in check_product(SRM, after, before, None, POLICY))


def test_tiny_bases_are_not_compared():
    before = sector("2025-01", [20, 20])
    after = sector("2025-01", [None, None], ["payrolled_employees:threshold"] * 2)
    assert check_product(SRM, after, before, None, POLICY) == [] or all(
        f.measure != "payrolled_employees" for f in check_product(SRM, after, before, None, POLICY))


def test_share_of_source_rows_reaching_the_product_has_a_floor():
    reach = pd.DataFrame({"month": [dt.date(2025, 1, 1)] * 2, "source_key": ["hmrc/paye_employments"] * 2,
                          "product": [SRM, "local_labour_market_monthly"], "source_rows": [10_000, 10_000],
                          "reaching_rows": [310, 9_900]})
    findings = check_product(SRM, sector("2025-01", [300]), None, reach, POLICY)
    assert [(f.measure, f.passed) for f in findings] == [("reach:hmrc/paye_employments", False)]
    assert "3.1% (310 of 10,000), limit >=80%" in findings[0].message
