"""Random unprotected releases for the disclosure and GX tests (imported as `_releases`; tests/unit is on the path).

Shaped like the four marts (same columns, hidden ``sdc_`` pay support, business counts that add up across the
linked district/section margin), so protect() and check_compliance() see what a real release gives them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

from trust_assets.lib.audit.disclosure.cellkey import CellKeys
from trust_assets.lib.audit.disclosure.policy import load_policy, pay_support

#: The shipped policy (keyed rounding across releases): protect and check it with KEYS.
SHIPPED = load_policy()
KEYS = CellKeys(b"unit-test cell-key secret, never a real one")
#: The shipped rules with plain rounding: the single-release rule tests read exact rounded values off it.
POLICY = replace(SHIPPED, cross_release="none")
LLM, SRM = "local_labour_market_monthly", "sector_region_monthly"
CEO, SEO = "claimant_employment_outcomes", "skills_employment_outcomes"


def _pay(rng: np.random.Generator, n: int, stat: str, people: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Random pay statistic with consistent support: employers' totals sorted, top1 >= top2, total = sum.

    ``people``: the count column that counts the same people (the policy's pay_people), as the marts define it.
    """
    employers = rng.integers(0, 7, n)
    if people is not None:
        employers = np.minimum(employers, people)
    cols = {role: np.zeros(n) for role in ("total", "top1", "top2")}
    for i, e in enumerate(employers):
        if e:
            pay = np.sort(rng.exponential(1.0, e) ** rng.uniform(0.5, 4)) [::-1] * 1e5
            cols["total"][i], cols["top1"][i] = pay.sum(), pay[0]
            cols["top2"][i] = pay[1] if e > 1 else 0.0
    if people is None:
        people = np.maximum(employers, rng.integers(0, 30, n))
    support = pay_support(stat)
    return {stat: rng.uniform(800, 4000, n).round(2), support["people"]: people,
            support["employers"]: employers, **{support[r]: v for r, v in cols.items()}}


def build_release(seed: int, months: int = 2, regions: int = 3, max_districts: int = 4, sections: int = 4,
                  scale: int = 40) -> dict[str, pd.DataFrame]:
    """A random unprotected release whose business counts add up across the linked margin, as real marts do."""
    rng = np.random.default_rng(seed)
    month_values = [dt.date(2020 + m // 12, m % 12 + 1, 1) for m in range(months)]
    region_names = [f"Region {r}" for r in range(regions)]
    districts = {r: [f"E0{i}{j:06d}" for j in range(int(rng.integers(1, max_districts + 1)))]
                 for i, r in enumerate(region_names)}
    section_codes = [chr(ord("A") + s) for s in range(sections)]

    srm = pd.DataFrame([(m, r, s) for m in month_values for r in region_names for s in section_codes],
                       columns=["month", "region", "sic_section"])
    n = len(srm)
    srm["payrolled_employees"] = rng.integers(0, scale * 5, n)
    srm["employer_businesses"] = rng.integers(0, scale, n)
    srm["business_births"] = rng.integers(0, max(scale // 3, 2), n)
    srm["business_deaths"] = rng.integers(0, max(scale // 3, 2), n)
    srm = srm.assign(**_pay(rng, n, "median_monthly_pay", srm["payrolled_employees"].to_numpy()))

    rows = []
    for (m, r), group in srm.groupby(["month", "region"], sort=False):
        codes = districts[r]
        share = rng.dirichlet(np.ones(len(codes)))
        employers = rng.multinomial(int(group["employer_businesses"].sum()), share)
        births = rng.multinomial(int(group["business_births"].sum()), share)
        for code, e, b in zip(codes, employers, births, strict=True):
            rows.append((m, code, f"District {code}", r, e, b))
    llm = pd.DataFrame(rows, columns=["month", "local_authority_code", "local_authority_name", "region",
                                      "employer_businesses", "business_births"])
    k = len(llm)
    claimants = rng.integers(0, scale * 2, k)
    llm["uc_claimants"] = claimants
    llm["uc_claimants_searching_for_work"] = (claimants * rng.uniform(0, 1, k)).astype(int)
    llm["payrolled_employees"] = rng.integers(0, scale * 5, k)
    llm["fe_learner_starts"] = rng.integers(0, scale, k)
    llm = llm.assign(**_pay(rng, k, "median_monthly_pay", llm["payrolled_employees"].to_numpy()))

    def outcomes(dims: dict[str, list], denominator: str, with_3m: bool, month_col: str) -> pd.DataFrame:
        index = pd.MultiIndex.from_product(list(dims.values()), names=list(dims)).to_frame(index=False)
        size = len(index)
        den = rng.integers(0, scale * 2, size)
        in_6m = rng.binomial(den, rng.uniform(0, 1, size)).astype("float")
        # The latest cohort's outcomes are not observable yet: null, not zero.
        in_6m[(index[month_col] == month_values[-1]).to_numpy()] = np.nan
        index[denominator] = den
        if with_3m:
            index["in_work_3m"] = rng.binomial(den, 0.3)
        index["in_work_6m"] = pd.array(in_6m, dtype="Float64").astype("Int64")
        index["in_work_6m_rate"] = (index["in_work_6m"] / pd.Series(den).replace(0, np.nan)).astype("Float64")
        return index.assign(**_pay(rng, size, "median_pay_6m", np.nan_to_num(in_6m).astype(int)))

    ceo = outcomes({"cohort_month": month_values, "region": region_names, "age_band": ["16-24", "25-34"],
                    "disability": [True, False]}, "cohort_claimants", True, "cohort_month")
    seo = outcomes({"completion_month": month_values, "region": region_names, "ssa_tier1": [1, 2],
                    "nsf_funded": [True, False]}, "completers", False, "completion_month")
    return {LLM: llm, SRM: srm, CEO: ceo, SEO: seo}
