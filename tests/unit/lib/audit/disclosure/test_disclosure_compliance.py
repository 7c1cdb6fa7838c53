"""check_compliance() catches every kind of doctored table: each test breaks a protected release one way."""

from __future__ import annotations

import pandas as pd
import pytest
from _releases import CEO, LLM, POLICY, SRM, build_release

from trust_assets.lib.audit.disclosure.compliance import check_compliance
from trust_assets.lib.audit.disclosure.policy import SUPPRESSION_COLUMN
from trust_assets.lib.audit.disclosure.protect import protect, round_to_base


@pytest.fixture(scope="module")
def good():
    release = build_release(42, months=2, regions=3, max_districts=5, sections=5, scale=30)
    published = protect(release, POLICY)
    assert check_compliance(published, release, POLICY) == []
    return release, published


def _rules(release, published) -> set[tuple[str, str | None]]:
    return {(v.rule, v.column) for v in check_compliance(published, release, POLICY)}


def test_catches_small_published_count(good):
    release, published = good
    llm = published[LLM].copy()
    row = release[LLM]["uc_claimants"].lt(10).idxmax()
    llm.loc[row, "uc_claimants"] = 10  # an 8 rounded up: >= 10 but still disclosive
    llm.loc[row, SUPPRESSION_COLUMN] = pd.NA
    assert ("count_threshold", "uc_claimants") in _rules(release, {**published, LLM: llm})


def test_catches_unrounded_count(good):
    release, published = good
    llm = published[LLM].copy()
    row = llm["payrolled_employees"].notna().idxmax()
    llm.loc[row, "payrolled_employees"] = release[LLM].loc[row, "payrolled_employees"] + 1 \
        if release[LLM].loc[row, "payrolled_employees"] % 5 == 4 else llm.loc[row, "payrolled_employees"] + 1
    found = _rules(release, {**published, LLM: llm})
    assert ("count_rounding", "payrolled_employees") in found


def test_catches_unsafe_pay(good):
    release, published = good
    srm = published[SRM].copy()
    failing = protect(release, POLICY)[SRM]["median_monthly_pay"].isna() & release[SRM]["median_monthly_pay"].notna()
    srm.loc[failing, "median_monthly_pay"] = 1234.0
    found = _rules(release, {**published, SRM: srm})
    assert found & {("pay_contributors", "median_monthly_pay"), ("pay_dominance", "median_monthly_pay"),
                    ("pay_p_percent", "median_monthly_pay")}


def test_catches_rate_with_small_denominator_or_hidden_numerator(good):
    release, published = good
    ceo = published[CEO].copy()
    small = (release[CEO]["cohort_claimants"] < 10) & release[CEO]["in_work_6m_rate"].notna()
    ceo.loc[small, "in_work_6m_rate"] = 0.5
    hidden = ceo["in_work_6m"].isna() & ~small & release[CEO]["in_work_6m_rate"].notna()
    ceo.loc[hidden, "in_work_6m_rate"] = 0.1
    found = _rules(release, {**published, CEO: ceo})
    assert ("rate_denominator", "in_work_6m_rate") in found
    assert ("rate_suppressed_count", "in_work_6m_rate") in found


def test_catches_rate_from_unrounded_counts(good):
    release, published = good
    ceo = published[CEO].copy()
    shown = ceo["in_work_6m_rate"].notna()
    ceo.loc[shown, "in_work_6m_rate"] = release[CEO].loc[shown, "in_work_6m_rate"]
    assert ("rate_derivation", "in_work_6m_rate") in _rules(release, {**published, CEO: ceo})


def test_catches_missing_secondary_suppression(good):
    release, published = good
    undone = 0
    for name in (LLM, SRM):
        for measure in ("business_births", "employer_businesses"):
            frame = published[name].copy()
            secondary = frame[SUPPRESSION_COLUMN].fillna("").str.contains(f"{measure}:secondary")
            if not secondary.any():
                continue
            row = secondary.idxmax()
            frame.loc[row, measure] = round_to_base(release[name].loc[[row], measure], 5).iloc[0]
            frame.loc[row, SUPPRESSION_COLUMN] = frame.loc[row, SUPPRESSION_COLUMN].replace(
                f"{measure}:secondary", "").strip(";") or pd.NA
            assert ("secondary", measure) in _rules(release, {**published, name: frame})
            undone += 1
    assert undone, "the fixture release should need secondary suppression"


def test_catches_support_columns_and_missing_reason_column(good):
    release, published = good
    leaky = published[SRM].assign(sdc_median_monthly_pay_top1=release[SRM]["sdc_median_monthly_pay_top1"])
    assert "support_column" in {v.rule for v in check_compliance({SRM: leaky}, release, POLICY)}
    no_reason = published[SRM].drop(columns=SUPPRESSION_COLUMN)
    assert "columns" in {v.rule for v in check_compliance({SRM: no_reason}, release, POLICY)}


def test_catches_unexplained_suppression(good):
    release, published = good
    llm = published[LLM].copy()
    row = llm["fe_learner_starts"].notna().idxmax()
    llm.loc[row, "fe_learner_starts"] = pd.NA
    violations = check_compliance({**published, LLM: llm}, release, POLICY)
    # Hidden without a reason, and its status still says "published": both lies are named.
    assert [(v.rule, v.column, v.cells) for v in violations] == [("suppression_reason", "fe_learner_starts", 1),
                                                                 ("status", "fe_learner_starts", 1)]
    assert violations[0].examples[0]["local_authority_code"] == llm.loc[row, "local_authority_code"]
