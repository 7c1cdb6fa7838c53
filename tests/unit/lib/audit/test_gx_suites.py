"""The GX 1.x wrapper: a good release candidate passes; each kind of bad one fails, naming the expectation."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from trust_assets.lib.audit.disclosure.policy import load_policy
from trust_assets.lib.audit.gx_suites import (
    SuiteError,
    derive_month_on_month,
    load_suite_dict,
    suite_parameters,
    validate_candidate,
)
from trust_assets.lib.paths import EXPECTATIONS_DIR
from trust_assets.lib.registry.cell_status import status_column
from trust_assets.lib.registry.products import PRODUCTS

LLM, CEO = "local_labour_market_monthly", "claimant_employment_outcomes"
MONTHS = [dt.date(2025, m, 1) for m in (1, 2, 3)]
CODES = ["E06000001", "E06000002", "E07000223", "S12000033", "W06000015"]


def llm_candidate() -> pd.DataFrame:
    """A protected-looking candidate: rounded counts >= 10, gentle month-on-month growth, one suppressed cell."""
    rows = []
    for m, month in enumerate(MONTHS):
        for d, code in enumerate(CODES):
            base = 1000 + 200 * d
            rows.append({"month": month, "local_authority_code": code, "local_authority_name": f"District {d}",
                         "region": "North East" if d < 2 else "Elsewhere", "uc_claimants": base + 5 * m * 10,
                         "uc_claimants_searching_for_work": base // 2, "payrolled_employees": base * 10 + 50 * m,
                         "fe_learner_starts": 40 + 5 * m, "employer_businesses": 300 + 5 * d,
                         "business_births": 25, "median_monthly_pay": 2100.0 + 10 * m})
    frame = pd.DataFrame(rows)
    counts = ["uc_claimants", "uc_claimants_searching_for_work", "payrolled_employees", "fe_learner_starts",
              "employer_businesses", "business_births"]
    frame[counts] = frame[counts].astype("Int64")
    frame["median_monthly_pay"] = frame["median_monthly_pay"].astype("Float64")
    frame.loc[4, "business_births"] = pd.NA
    frame["suppression"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame.loc[4, "suppression"] = "business_births:threshold"
    return with_statuses(frame, LLM)


def with_statuses(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Each measure's status column as protect() writes it: published, or the reason cited in ``suppression``."""
    frame = frame.copy()
    reasons = frame["suppression"].astype("string").fillna("")
    for m in load_policy().product(name).measures:
        cited = reasons.str.extract(rf"(?:^|;){m}:([a-z_]+)", expand=False)
        status = pd.Series("published", index=frame.index, dtype="string")
        status = status.mask(frame[m].isna(), "not_yet_observable").mask(cited.notna(), "suppressed_" + cited)
        frame[status_column(m)] = status
    return frame


def params(frame: pd.DataFrame) -> dict:
    return {"expected_months": MONTHS, "district_codes": CODES, "expected_rows": len(MONTHS) * len(CODES)}


def failed(result) -> set[tuple[str, str | None]]:
    return {(r.expectation, r.column) for r in result.failed}


def test_every_product_has_a_suite_without_ids_matching_the_policy():
    policy = load_policy()
    for p in PRODUCTS:
        raw = load_suite_dict(p.name)
        text = (EXPECTATIONS_DIR / f"{p.name}.json").read_text()
        assert '"id"' not in text
        assert "expected_months" in suite_parameters(raw)
        column_set = next(e["kwargs"]["column_set"] for e in raw["expectations"]
                          if e["type"] == "expect_table_columns_to_match_set")
        public = [c for c in column_set if not c.startswith("mom__")]
        assert public == list(policy.products[p.name].public_columns)
        unique = next(e["kwargs"]["column_list"] for e in raw["expectations"]
                      if e["type"] == "expect_compound_columns_to_be_unique")
        assert tuple(unique) == p.grain


def test_good_candidate_passes_and_builds_data_docs(tmp_path):
    result = validate_candidate(LLM, llm_candidate(), params(None), data_docs_dir=tmp_path / "gx" / "run-1",
                                run_id="run-1")
    assert result.success, result.to_metadata()["failed_expectations"]
    assert len(result.results) == len(load_suite_dict(LLM)["expectations"])
    assert result.data_docs_index == tmp_path / "gx" / "run-1" / "index.html"
    html = result.data_docs_index.read_text()
    assert LLM in html
    assert list((tmp_path / "gx" / "run-1" / "validations" / LLM).rglob("*.html"))
    json.dumps(result.to_metadata())
    assertions = result.to_openlineage_assertions()
    assert all(a["success"] for a in assertions)
    assert {"assertion": "expect_column_values_to_match_regex", "success": True, "column": "uc_claimants"} \
        in assertions


def _doctor(edit) -> pd.DataFrame:
    frame = llm_candidate()
    return edit(frame)


BAD = {
    "missing district": (lambda f: f[f["local_authority_code"] != "E07000223"],
                         {("expect_column_distinct_values_to_equal_set", "local_authority_code"),
                          ("expect_table_row_count_to_equal", None)}),
    "missing month": (lambda f: f[f["month"] != MONTHS[1]],
                      {("expect_column_distinct_values_to_equal_set", "month")}),
    "abolished district": (lambda f: f.assign(local_authority_code=f["local_authority_code"].replace(
        "E07000223", "E07000048")), {("expect_column_distinct_values_to_equal_set", "local_authority_code")}),
    "duplicate grain": (lambda f: pd.concat([f, f.head(1)], ignore_index=True),
                        {("expect_compound_columns_to_be_unique", None)}),
    "negative pay": (lambda f: f.assign(median_monthly_pay=f["median_monthly_pay"].where(f.index != 3, -1.0)),
                     {("expect_column_values_to_be_between", "median_monthly_pay")}),
    "unrounded count": (lambda f: f.assign(fe_learner_starts=f["fe_learner_starts"].where(f.index != 2, 41)),
                        {("expect_column_values_to_match_regex", "fe_learner_starts")}),
    "small count": (lambda f: f.assign(business_births=f["business_births"].where(f.index != 2, 5)),
                    {("expect_column_values_to_be_between", "business_births")}),
    "support column": (lambda f: f.assign(sdc_median_monthly_pay_people=12),
                       {("expect_table_columns_to_match_set", None)}),
    "no suppression column": (lambda f: f.drop(columns="suppression"),
                              {("expect_column_to_exist", "suppression")}),
    "bad reason": (lambda f: f.assign(suppression=f["suppression"].fillna("business_births:because")),
                   {("expect_column_values_to_match_regex", "suppression")}),
    "subset exceeds total": (lambda f: f.assign(uc_claimants_searching_for_work=f["uc_claimants"] + 5),
                             {("expect_column_pair_values_a_to_be_greater_than_b", "uc_claimants")}),
    "month-on-month jump": (lambda f: f.assign(payrolled_employees=f["payrolled_employees"].where(
        f["month"] != MONTHS[2], f["payrolled_employees"] * 3)),
                            {("expect_column_values_to_be_between", "mom__payrolled_employees")}),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_candidate_fails_naming_the_expectation(case):
    edit, expected = BAD[case]
    result = validate_candidate(LLM, _doctor(edit), params(None))
    assert not result.success
    assert expected <= failed(result), failed(result)
    # Plausibility is a warning: reported, but only disclosure, completeness and range failures block.
    assert result.passes_gate == (case == "month-on-month jump")
    broken = [r for r in result.failed if (r.expectation, r.column) in expected]
    # Row-level failures come with the offending rows' grain so an engineer can find them.
    for r in broken:
        if r.unexpected_count:
            assert r.unexpected_examples


def test_month_on_month_uses_the_previous_release_for_the_first_month():
    frame = llm_candidate()
    first = frame[frame["month"] == MONTHS[0]]
    later = frame[frame["month"] != MONTHS[0]]
    derived = derive_month_on_month(later, ["payrolled_employees"], ("month", "local_authority_code"), first,
                                    min_base=100)
    jan, feb = first.set_index("local_authority_code"), later[later["month"] == MONTHS[1]]
    expected = (feb["payrolled_employees"].to_numpy() / jan.loc[feb["local_authority_code"], "payrolled_employees"]
                .to_numpy()) - 1
    assert np.allclose(derived.loc[feb.index, "mom__payrolled_employees"].to_numpy(float), expected)
    alone = derive_month_on_month(later, ["payrolled_employees"], ("month", "local_authority_code"))
    assert alone.loc[feb.index, "mom__payrolled_employees"].isna().all()
    # A gap (March without February) is not a month-on-month change.
    gap = derive_month_on_month(frame[frame["month"] != MONTHS[1]], ["payrolled_employees"],
                                ("month", "local_authority_code"))
    assert gap["mom__payrolled_employees"].isna().all()


def test_jump_against_previous_release_fails():
    frame = llm_candidate()
    latest = frame[frame["month"] == MONTHS[2]]
    previous = frame[frame["month"] != MONTHS[2]].assign(
        payrolled_employees=lambda f: f["payrolled_employees"] // 3)
    result = validate_candidate(LLM, latest, {"expected_months": [MONTHS[2]], "district_codes": CODES,
                                              "expected_rows": len(CODES)}, previous=previous)
    assert failed(result) == {("expect_column_values_to_be_between", "mom__payrolled_employees")}
    assert [r.severity for r in result.failed] == ["warning"] and result.passes_gate


def test_rate_above_one_fails_in_outcomes_product():
    rows = [{"cohort_month": MONTHS[0], "region": "North East", "age_band": band, "disability": flag,
             "cohort_claimants": 100, "in_work_3m": 40, "in_work_6m": 50, "in_work_6m_rate": 0.5,
             "median_pay_6m": 1500.0, "suppression": None}
            for band in ("16-24", "25-34") for flag in (True, False)]
    good = with_statuses(pd.DataFrame(rows), CEO)
    assert validate_candidate(CEO, good, {"expected_months": [MONTHS[0]]}).success
    bad = good.assign(in_work_6m_rate=[0.5, 1.5, 0.5, 0.5])
    assert failed(validate_candidate(CEO, bad, {"expected_months": [MONTHS[0]]})) == {
        ("expect_column_values_to_be_between", "in_work_6m_rate")}


def test_missing_parameter_and_malformed_suites_are_refused(tmp_path):
    with pytest.raises(SuiteError, match="district_codes"):
        validate_candidate(LLM, llm_candidate(), {"expected_months": MONTHS, "expected_rows": 15})
    raw = load_suite_dict(LLM)
    raw["expectations"][0]["id"] = "0b5e2c4e-generated"
    (tmp_path / f"{LLM}.json").write_text(json.dumps(raw))
    with pytest.raises(SuiteError, match="generated 'id'"):
        load_suite_dict(LLM, tmp_path)
    raw = load_suite_dict(LLM)
    raw["expectations"].append({"type": "expect_column_values_to_be_sparkly", "kwargs": {"column": "region"}})
    (tmp_path / f"{LLM}.json").write_text(json.dumps(raw))
    with pytest.raises(SuiteError, match="expect_column_values_to_be_sparkly"):
        validate_candidate(LLM, llm_candidate(), params(None), suite_dir=tmp_path)


def test_protected_release_passes_every_suite():
    """The two halves of the audit agree: whatever protect() publishes, the GX disclosure checks accept."""
    from _releases import KEYS, build_release

    from trust_assets.lib.audit.disclosure.protect import protect

    release = protect(build_release(9, months=3, regions=3, max_districts=4, sections=4, scale=12), load_policy(),
                      keys=KEYS)
    for p in PRODUCTS:
        frame = release[p.name]
        parameters = {"expected_months": sorted(frame[p.month_column].unique())}
        if p.name == LLM:
            parameters |= {"district_codes": sorted(frame["local_authority_code"].unique()),
                           "expected_rows": len(frame)}
        result = validate_candidate(p.name, frame, parameters)
        assert result.passes_gate, [r.as_dict() for r in result.blocking_failures]
        assert frame["suppression"].notna().any()


def test_unrecorded_disability_is_its_own_cell_but_a_non_boolean_is_not():
    rows = [{"cohort_month": MONTHS[0], "region": "North East", "age_band": "16-24", "disability": flag,
             "cohort_claimants": 100, "in_work_3m": 40, "in_work_6m": 50, "in_work_6m_rate": 0.5,
             "median_pay_6m": 1500.0, "suppression": None} for flag in (True, False, None)]
    assert validate_candidate(CEO, with_statuses(pd.DataFrame(rows), CEO), {"expected_months": [MONTHS[0]]}).success
    rows[2]["disability"] = "maybe"
    assert ("expect_column_values_to_be_in_set", "disability") in failed(
        validate_candidate(CEO, with_statuses(pd.DataFrame(rows), CEO), {"expected_months": [MONTHS[0]]}))


def test_gx_is_imported_in_the_background_for_the_audit() -> None:
    """The dbt step starts GX's import on a thread; a fresh interpreter has it loaded once that thread ends."""
    import subprocess
    import sys

    probe = (
        "import sys, threading\n"
        "from trust_assets.lib.audit.gx_loading import import_in_background\n"
        "assert 'great_expectations' not in sys.modules\n"
        "import_in_background()\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'import-great-expectations': t.join(120)\n"
        "assert 'great_expectations.checkpoint' in sys.modules, 'not imported'\n"
    )
    import os
    from importlib.util import find_spec

    env = dict(os.environ)
    spec = find_spec("pyspark")
    if spec is not None and spec.origin and not env.get("SPARK_HOME"):  # as every run sets it (runs/instance.py)
        env["SPARK_HOME"] = os.path.dirname(spec.origin)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
