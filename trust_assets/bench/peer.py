"""The batch-copy peer: copy every source table whole into pandas, then compute the products from the copy.

This is what the trust replaces: a department sends a full extract (every row, every column, every month) and the
receiver loads it into memory and derives its statistics. Same definitions as the floor (docs/products.md), so
the two must agree cell by cell; the difference is the copy.
"""

from __future__ import annotations

import pandas as pd

from trust_assets.bench.floor import SOURCES
from trust_assets.bench.reference import Reference, reference
from trust_assets.lib.months import month_bounds
from trust_assets.lib.paths import TrustPaths

PAID = "pay_gbp"


def read_sources(paths: TrustPaths) -> dict[str, pd.DataFrame]:
    """Every source table, all rows and columns at its latest version, as pandas frames (the batch copy)."""
    from deltalake import DeltaTable

    frames = {}
    for name, table in SOURCES.items():
        arrow = DeltaTable(str(paths.source_table(table.dept, table.table))).to_pyarrow_table()
        frames[name] = arrow.to_pandas(date_as_object=False)
        del arrow
    return frames


def _norm(column: pd.Series) -> pd.Series:
    return column.str.strip().str.upper()


def _in(column: pd.Series, month: str, offset: int = 0) -> pd.Series:
    lo, hi = month_bounds(month, offset)
    return (column >= pd.Timestamp(lo)) & (column < pd.Timestamp(hi))


def _alive(frame: pd.DataFrame, month: str) -> pd.Series:
    lo, hi = (pd.Timestamp(d) for d in month_bounds(month))
    return ((frame.birth_date.isna() | (frame.birth_date < hi))
            & (frame.death_date.isna() | (frame.death_date >= lo)))


def _next_month(column: pd.Series) -> pd.Series:
    return (column.dt.to_period("M") + 1).dt.to_timestamp()


def _screen(rows: pd.DataFrame, passes: pd.Series, key: list[str] | None) -> pd.DataFrame:
    """Distinct rows passing the source row rules, less versions that conflict on ``key`` (as the floor)."""
    kept = rows[passes]
    if key is None:
        return kept
    versions = kept.groupby(key, dropna=False)[key[0]].transform("size")
    return kept[versions == 1]


class PeerData:
    """The copied tables, normalised once as the staging views would (trimmed, upper-cased, deduplicated)."""

    def __init__(self, frames: dict[str, pd.DataFrame], ref: Reference) -> None:
        self.ref = ref
        self.codes = pd.DataFrame({"code": list(ref.conformed), "la": [d.code for d in ref.conformed.values()],
                                   "region": [d.region for d in ref.conformed.values()]})
        self.districts = pd.DataFrame({"local_authority_code": [d.code for d in ref.districts],
                                       "local_authority_name": [d.name for d in ref.districts],
                                       "region": [d.region for d in ref.districts]})
        known = set(ref.conformed)
        uc = frames["uc"]
        uc = pd.DataFrame({"person_id": uc.person_id, "month": uc.month, "code": _norm(uc.residence_la_code),
                           "age_band": uc.age_band.str.strip(), "sex": _norm(uc.sex), "disability": uc.disability,
                           "regime": uc.conditionality_regime.str.strip().str.lower(),
                           "claim_start_date": uc.claim_start_date}).drop_duplicates()
        self.uc = _screen(uc, uc.person_id.notna() & (uc.month == uc.month.dt.to_period("M").dt.to_timestamp())
                          & ~(uc.claim_start_date >= _next_month(uc.month)) & uc.code.isin(known),
                          ["month", "person_id"])
        paye = frames["paye"]
        self.paye = paye.assign(employer_id=paye.employer_id.str.strip(), code=_norm(paye.residence_la_code))
        self.known = known
        aims = frames["aims"]
        aims = pd.DataFrame({"person_id": aims.person_id, "aim_id": aims.aim_id, "start_date": aims.start_date,
                             "planned_end_date": aims.planned_end_date, "actual_end_date": aims.actual_end_date,
                             "outcome": aims.outcome.str.strip().str.lower(), "ssa_tier1": aims.ssa_tier1,
                             "level": aims.level.str.strip(), "code": _norm(aims.residence_la_code),
                             "nsf_funded": aims.nsf_funded}).drop_duplicates()
        self.aims = _screen(aims, aims.person_id.notna() & ~(aims.actual_end_date < aims.start_date)
                            & aims.code.isin(known), ["person_id", "aim_id"])
        biz = frames["biz"]
        biz = pd.DataFrame({"employer_id": biz.employer_id.str.strip(), "sic": _norm(biz.sic_section),
                            "division": biz.sic_division.str.strip(), "code": _norm(biz.workplace_la_code),
                            "size_band": biz.size_band.str.strip(), "birth_date": biz.birth_date,
                            "death_date": biz.death_date})
        employing = biz[biz.employer_id.notna()].drop_duplicates()
        self.businesses = pd.concat([employing, biz[biz.employer_id.isna()]], ignore_index=True)
        # the record born last (then died last, unknown death first) per employer, as int_businesses_conformed
        ordered = employing.assign(no_birth=employing.birth_date.isna(), has_death=employing.death_date.notna())
        ordered = ordered.sort_values(
            ["employer_id", "no_birth", "birth_date", "has_death", "death_date", "sic", "code", "division",
             "size_band"], ascending=[True, True, False, True, False, True, True, True, True], na_position="last")
        self.employer_records = ordered.drop_duplicates("employer_id")[list(biz.columns)]

    def employments(self, month: str, offset: int = 0) -> pd.DataFrame:
        """PAYE rows of one month as the products use them (int_employments_screened)."""
        rows = self.paye[_in(self.paye.month, month, offset)]
        rows = rows[["person_id", "employer_id", "month", PAID, "code", "employment_start_date"]].drop_duplicates()
        passes = (rows.person_id.notna() & rows.employer_id.notna() & (rows.employer_id != "")
                  & (rows.month == rows.month.dt.to_period("M").dt.to_timestamp()) & ~(rows[PAID] < 0)
                  & ~(rows.employment_start_date >= _next_month(rows.month)) & rows.code.isin(self.known))
        return _screen(rows, passes, None)  # differing rows of one employment are kept, as the floor


def _pay(people: pd.DataFrame, keys: list[str], count: str, median: str) -> pd.DataFrame:
    grouped = people.groupby(keys, dropna=False)[PAID]
    return pd.DataFrame({count: grouped.size(), median: grouped.median()}).reset_index()


def local_labour_market(data: PeerData, month: str) -> pd.DataFrame:
    sections = list(data.ref.sic_sections)
    uc = data.uc[_in(data.uc.month, month)].merge(data.codes, on="code")
    searching = uc[uc.regime == "searching_for_work"]
    claimants = pd.DataFrame({"uc_claimants": uc.groupby("la").person_id.nunique(),
                              "uc_claimants_searching_for_work": searching.groupby("la").person_id.nunique()})
    employments = data.employments(month)
    paid = employments[employments[PAID] > 0]
    people = paid.merge(data.codes, on="code").groupby(["la", "person_id"], as_index=False)[PAID].sum()
    pay = _pay(people, ["la"], "payrolled_employees", "median_monthly_pay").set_index("la")
    aims = data.aims[_in(data.aims.start_date, month)].merge(data.codes, on="code")
    starts = aims.groupby("la").aim_id.nunique().rename("fe_learner_starts")
    records = data.employer_records.merge(data.codes, on="code")
    active = set(paid.employer_id.dropna())
    records = records[records.sic.isin(sections) & _alive(records, month) & records.employer_id.isin(active)]
    employers = records.groupby("la").employer_id.nunique().rename("employer_businesses")
    born = data.businesses[_in(data.businesses.birth_date, month) & data.businesses.sic.isin(sections)]
    births = born.merge(data.codes, on="code").groupby("la").size().rename("business_births")
    cells = data.districts.set_index("local_authority_code")
    out = cells.join([claimants, pay, starts, employers, births])
    counts = ["uc_claimants", "uc_claimants_searching_for_work", "payrolled_employees", "fe_learner_starts",
              "employer_businesses", "business_births"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out.insert(0, "month", pd.Timestamp(month_bounds(month)[0]))
    return out.reset_index()[["month", "local_authority_code", "local_authority_name", "region", *counts[:3],
                              "median_monthly_pay", *counts[3:]]]


def sector_region(data: PeerData, month: str) -> pd.DataFrame:
    sections = list(data.ref.sic_sections)
    employments = data.employments(month)
    records = data.employer_records.rename(columns={"code": "workplace_code"})
    placed = (employments[employments[PAID] > 0].drop(columns="code")
              .merge(records, on="employer_id")
              .merge(data.codes, left_on="workplace_code", right_on="code"))
    placed = placed[placed.sic.isin(sections) & _alive(placed, month)]
    people = placed.groupby(["region", "sic", "person_id"], as_index=False)[PAID].sum()
    pay = _pay(people, ["region", "sic"], "payrolled_employees", "median_monthly_pay").set_index(["region", "sic"])
    employers = placed.groupby(["region", "sic"]).employer_id.nunique().rename("employer_businesses")
    businesses = data.businesses[data.businesses.sic.isin(sections)].merge(data.codes, on="code")
    births = businesses[_in(businesses.birth_date, month)].groupby(["region", "sic"]).size().rename("business_births")
    deaths = businesses[_in(businesses.death_date, month)].groupby(["region", "sic"]).size().rename("business_deaths")
    grid = pd.MultiIndex.from_product([sorted(set(data.districts.region)), sections], names=["region", "sic"])
    out = pd.DataFrame(index=grid).join([pay, employers, births, deaths])
    counts = ["payrolled_employees", "employer_businesses", "business_births", "business_deaths"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out = out.reset_index().rename(columns={"sic": "sic_section"})
    out.insert(0, "month", pd.Timestamp(month_bounds(month)[0]))
    return out[["month", "region", "sic_section", "payrolled_employees", "median_monthly_pay", *counts[1:]]]


def _outcomes(data: PeerData, cohort: pd.DataFrame, keys: list[str], offsets: tuple[int, ...], month: str,
              count: str) -> pd.DataFrame:
    out = cohort.groupby(keys, dropna=False).person_id.nunique().rename(count).reset_index()
    follow = pd.concat([data.employments(month, k) for k in offsets])
    newest = follow.month.max() if len(follow) else None
    for k in offsets:
        lo = pd.Timestamp(month_bounds(month, k)[0])
        rows = follow[_in(follow.month, month, k) & (follow[PAID] > 0)]
        people = rows.groupby("person_id", as_index=False)[PAID].sum()
        work = _pay(cohort.merge(people, on="person_id"), keys, f"in_work_{k}m", f"median_pay_{k}m")
        out = out.merge(work, on=keys, how="left")
        observable = newest is not None and lo <= newest
        out[f"in_work_{k}m"] = out[f"in_work_{k}m"].fillna(0).astype("Int64") if observable else pd.NA
        if not observable:
            out[f"median_pay_{k}m"] = float("nan")
    last = offsets[-1]
    out[f"in_work_{last}m_rate"] = out[f"in_work_{last}m"] / out[count]
    columns = [*keys, count, *(f"in_work_{k}m" for k in offsets), f"in_work_{last}m_rate", f"median_pay_{last}m"]
    return out[columns].sort_values(keys).reset_index(drop=True)


def claimant_outcomes(data: PeerData, month: str) -> pd.DataFrame:
    uc = data.uc[_in(data.uc.month, month) & _in(data.uc.claim_start_date, month)].merge(data.codes, on="code")
    cohort = pd.DataFrame({"cohort_month": pd.Timestamp(month_bounds(month)[0]), "region": uc.region,
                           "age_band": uc.age_band.fillna("unknown"), "disability": uc.disability,
                           "person_id": uc.person_id}).drop_duplicates()
    return _outcomes(data, cohort, ["cohort_month", "region", "age_band", "disability"], (3, 6), month,
                     "cohort_claimants")


def skills_outcomes(data: PeerData, month: str) -> pd.DataFrame:
    aims = data.aims[_in(data.aims.actual_end_date, month)
                     & data.aims.outcome.isin(["completed", "achieved"])
                     & data.aims.ssa_tier1.isin(list(data.ref.ssa_tier1))].merge(data.codes, on="code")
    cohort = pd.DataFrame({"completion_month": pd.Timestamp(month_bounds(month)[0]), "region": aims.region,
                           "ssa_tier1": aims.ssa_tier1, "nsf_funded": aims.nsf_funded,
                           "person_id": aims.person_id}).drop_duplicates()
    return _outcomes(data, cohort, ["completion_month", "region", "ssa_tier1", "nsf_funded"], (6,), month,
                     "completers")


PRODUCTS = {
    "local_labour_market_monthly": local_labour_market,
    "sector_region_monthly": sector_region,
    "claimant_employment_outcomes": claimant_outcomes,
    "skills_employment_outcomes": skills_outcomes,
}


def peer_products(paths: TrustPaths, month: str) -> dict[str, pd.DataFrame]:
    """Every product for ``month`` (``YYYY-MM``) from a full pandas copy of the source tables."""
    data = PeerData(read_sources(paths), reference())
    return {name: compute(data, month) for name, compute in PRODUCTS.items()}
