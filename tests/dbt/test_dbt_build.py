"""dbt build on a tiny hand-made TRUST_HOME: the products' numbers match their definitions, row by row.

The department tables are written here, row by row, with the messiness conformance must handle (an abolished
district, a chained successor, a split county, a recoded district, an unknown code, a null person id, an exact
duplicate, an unknown employer, an unknown SIC section), so every asserted number can be derived by hand from the
rows below. Slow-ish (two dbt builds, ~1 minute), so it runs once per module.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _dbt_home import query, run_dbt, write_commits
from _stored_ctes import stored_person_level_ctes

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import (
    BUSINESS_REGISTER,
    FE_LEARNER_AIMS,
    PAYE_EMPLOYMENTS,
    UC_CLAIMS,
)

pytestmark = pytest.mark.dbt

ADUR = "E07000223"  # current district, South East
TAUNTON_DEANE = "E07000190"  # abolished 2019 -> Somerset West and Taunton, abolished 2023 -> Somerset
SOMERSET = "E06000066"
CUMBRIA = "E10000006"  # county split in 2023 between Cumberland (larger) and Westmorland and Furness
CUMBERLAND = "E06000063"
EAST_HERTS_FORMER = "E07000097"  # East Hertfordshire's code before its 2020 recode
EAST_HERTS = "E07000242"
UNKNOWN = "E99999999"

D = dt.date
OLD_CLAIM = D(2024, 6, 1)


def _uc(person, month, code, regime="searching_for_work", start=OLD_CLAIM, age="25-34", disability=False):
    return {"person_id": person, "month": month, "residence_la_code": code, "age_band": age, "sex": "F",
            "disability": disability, "conditionality_regime": regime, "claim_start_date": start}


def _paye(person, employer, month, pay, code=ADUR):
    return {"person_id": person, "employer_id": employer, "month": month, "pay_gbp": pay, "residence_la_code": code,
            "employment_start_date": D(2020, 1, 1)}


def _aim(person, aim, start, end, outcome, ssa, code, nsf=True):
    return {"person_id": person, "aim_id": aim, "start_date": start, "planned_end_date": end, "actual_end_date": end,
            "outcome": outcome, "ssa_tier1": ssa, "level": "2", "residence_la_code": code, "nsf_funded": nsf}


def _business(employer, section, code, birth, death=None):
    return {"employer_id": employer, "sic_section": section, "sic_division": "10", "workplace_la_code": code,
            "size_band": "1-9", "birth_date": birth, "death_date": death}


JAN, FEB, MAR, APR, MAY, JUL = (D(2025, m, 1) for m in (1, 2, 3, 4, 5, 7))

UC_ROWS = [
    [  # commit 1: January
        _uc("p1", JAN, ADUR, start=D(2025, 1, 10)),
        _uc("p1", JAN, ADUR, start=D(2025, 1, 10)),  # exact duplicate
        _uc("p2", JAN, TAUNTON_DEANE, regime="working_with_requirements"),
        _uc("p3", JAN, UNKNOWN),
        _uc(None, JAN, ADUR),
    ],
    [  # commit 2: February
        _uc("p1", FEB, ADUR, start=D(2025, 1, 10)),
        _uc("p4", FEB, CUMBRIA, start=D(2025, 2, 3), age="16-24", disability=True),
    ],
    [_uc("p1", MAR, ADUR, start=D(2025, 1, 10))],
]
PAYE_ROWS = [
    [_paye("p1", "E1", JAN, 1000.0), _paye("p1", "E2", JAN, 500.0), _paye("p5", "E1", JAN, 2000.0),
     _paye("p6", "E1", JAN, 0.0)],
    [_paye("p7", "E3", FEB, 100.0), _paye("p5", "E1", FEB, 2100.0)],
    [_paye("p5", "E1", MAR, 2200.0)],
    [_paye("p1", "E1", APR, 1200.0)],
    [_paye("p4", "E2", MAY, 900.0, code=CUMBRIA)],
    [_paye("p5", "E1", D(2025, 6, 1), 2300.0)],
    [_paye("p1", "E1", JUL, 1300.0)],
]
AIM_ROWS = [[
    _aim("p1", "A1", D(2025, 1, 5), D(2025, 1, 30), "completed", 4, ADUR),
    _aim("p8", "A2", D(2025, 2, 1), None, "continuing", 1, EAST_HERTS_FORMER),
    _aim("p9", "A3", D(2024, 9, 1), D(2025, 2, 15), "achieved", 99, ADUR),
]]
BUSINESS_ROWS = [[
    _business("E1", "c", ADUR, D(2020, 1, 1)),  # lower-case section: conformed to C
    _business("E2", "G", TAUNTON_DEANE, D(2025, 1, 15)),
    _business(None, "A", ADUR, D(2025, 2, 10)),
    _business(None, "A", ADUR, D(2025, 2, 10)),  # non-employing twins: no key, both kept
    _business("E4", "Z", ADUR, D(2025, 3, 1), D(2025, 3, 20)),  # unknown section
]]


def write_tiny_home(root: Path) -> TrustPaths:
    """Four department tables under ``root`` (monthly appends, like the departments' own commits)."""
    paths = TrustPaths(root)
    paths.ensure()
    write_commits(paths, UC_CLAIMS, UC_ROWS)
    write_commits(paths, PAYE_EMPLOYMENTS, PAYE_ROWS)
    write_commits(paths, FE_LEARNER_AIMS, AIM_ROWS)
    write_commits(paths, BUSINESS_REGISTER, BUSINESS_ROWS)
    return paths


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Build January-March, then append a late correction and rebuild March alone (an incremental run)."""
    root = tmp_path_factory.mktemp("dbt_home")
    paths = write_tiny_home(root)
    run_dbt("build", paths, ["2025-01", "2025-02", "2025-03"])
    first = query(paths, "select * from local_labour_market_monthly order by month, local_authority_code")
    # HMRC corrects January and adds a March employment; a March-only run must leave January as published.
    write_commits(paths, PAYE_EMPLOYMENTS, [[_paye("p9", "E1", JAN, 5000.0), _paye("p9", "E1", MAR, 5000.0)]])
    run_dbt("build", paths, ["2025-03"])
    return paths, first


def _row(paths: TrustPaths, table: str, where: str, columns: str) -> tuple:
    rows = query(paths, f"select {columns} from {table} where {where}")
    assert len(rows) == 1, (table, where, rows)
    return rows[0]


def test_warehouse_is_where_the_paths_module_says(home):
    paths, _ = home
    # dbt ran with cwd elsewhere: an absolute TRUST_HOME must give an absolute warehouse path
    assert paths.warehouse.is_absolute() and paths.warehouse.is_file()


def test_warehouse_holds_views_and_aggregates_only(home):
    paths, _ = home
    listed = query(paths, "select table_schema, table_name from information_schema.tables "
                          "where table_type = 'BASE TABLE'")
    tables = {name for schema, name in listed if schema == "main"}
    products = {"local_labour_market_monthly", "sector_region_monthly", "claimant_employment_outcomes",
                "skills_employment_outcomes"}
    # conformance_exclusions and source_reach are the audit's aggregates (counts per month and source).
    assert tables == products | {"conformance_exclusions", "source_reach", "uk_local_authorities",
                                 "sic2007_sections", "sector_subject_areas"}
    # Every other table is a dbt test's stored failing rows (store_failures_as: table), one per test.
    assert {schema for schema, _ in listed} == {"main", "main_test_failures"}
    assert len(listed) - len(tables) > 50
    for schema, table in listed:  # stored failing rows included: no person, employer or aim ids anywhere
        columns = {c for (c,) in query(paths, f"select column_name from information_schema.columns "
                                              f"where table_schema = '{schema}' and table_name = '{table}'")}
        assert not columns & {"person_id", "employer_id", "aim_id"}, (schema, table)


def test_local_market_grid_is_complete_and_zero_filled(home):
    paths, _ = home
    assert query(paths, "select count(*), count(distinct month), count(distinct local_authority_code) "
                        "from local_labour_market_monthly") == [(3 * 361, 3, 361)]
    # Adur in January: p1 (deduplicated) is a claimant searching for work, the null-id row is dropped; p1 (1000 +
    # 500 from two employers) and p5 (2000) are in work, p6 is paid 0 and is not.
    assert _row(paths, "local_labour_market_monthly", f"month = '2025-01-01' and local_authority_code = '{ADUR}'",
                "uc_claimants, uc_claimants_searching_for_work, payrolled_employees, median_monthly_pay, "
                "fe_learner_starts, employer_businesses, sdc_median_monthly_pay_employers, "
                "sdc_median_monthly_pay_total, sdc_median_monthly_pay_top1, sdc_median_monthly_pay_top2"
                ) == (1, 1, 2, 1750.0, 1, 1, 2, 3500.0, 3000.0, 500.0)
    # a district where nothing happened has zeros, and a null median
    assert _row(paths, "local_labour_market_monthly", "month = '2025-02-01' and local_authority_code = 'W06000015'",
                "uc_claimants, payrolled_employees, median_monthly_pay, business_births") == (0, 0, None, 0)


def test_abolished_chained_split_and_recoded_districts_are_conformed(home):
    paths, _ = home
    where = "month = '{m}' and local_authority_code = '{c}'"
    # Taunton Deane -> Somerset West and Taunton -> Somerset (claimant p2; employer E2's workplace and birth)
    assert _row(paths, "local_labour_market_monthly", where.format(m="2025-01-01", c=SOMERSET),
                "uc_claimants, employer_businesses, business_births") == (1, 1, 1)
    # Cumbria split: the larger successor, Cumberland, takes the whole code
    assert _row(paths, "local_labour_market_monthly", where.format(m="2025-02-01", c=CUMBERLAND),
                "uc_claimants") == (1,)
    assert _row(paths, "local_labour_market_monthly", where.format(m="2025-01-01", c=EAST_HERTS),
                "fe_learner_starts") == (0,)
    assert _row(paths, "local_labour_market_monthly", where.format(m="2025-02-01", c=EAST_HERTS),
                "fe_learner_starts") == (1,)
    # E4's SIC section Z is not SIC 2007: left out of business counts in both products (their margins agree)
    assert _row(paths, "local_labour_market_monthly", where.format(m="2025-03-01", c=ADUR),
                "business_births") == (0,)


def test_exclusions_are_counted(home):
    paths, _ = home
    got = {(str(m), s, r, c): n for m, s, r, c, n in query(
        paths, "select month, source_key, reason, recorded_code, affected_rows from conformance_exclusions")}
    assert got[("2025-01-01", "dwp/uc_claims", "null_person_id", None)] == 1
    assert got[("2025-01-01", "dwp/uc_claims", "duplicate_row", None)] == 1
    assert got[("2025-01-01", "dwp/uc_claims", "unknown_code", UNKNOWN)] == 1
    assert got[("2025-01-01", "dwp/uc_claims", "successor", TAUNTON_DEANE)] == 1
    assert got[("2025-02-01", "dwp/uc_claims", "split_larger_successor", CUMBRIA)] == 1
    assert got[("2025-02-01", "hmrc/paye_employments", "unknown_employer", None)] == 1
    assert got[("2025-03-01", "beis/business_register", "unknown_sic_section", "Z")] == 1
    assert got[("2025-02-01", "dfe/fe_learner_aims", "unknown_ssa_tier1", "99")] == 1


def test_sector_region_is_workplace_based(home):
    paths, _ = home
    assert query(paths, "select count(*) from sector_region_monthly") == [(3 * 12 * 21,)]
    cell = "month = '2025-01-01' and region = '{r}' and sic_section = '{s}'"
    # E1 (section c -> C, Adur, South East) pays p1 1000 and p5 2000; E2 (G, Somerset) pays p1 500
    assert _row(paths, "sector_region_monthly", cell.format(r="South East", s="C"),
                "payrolled_employees, median_monthly_pay, employer_businesses") == (2, 1500.0, 1)
    assert _row(paths, "sector_region_monthly", cell.format(r="South West", s="G"),
                "payrolled_employees, median_monthly_pay, business_births") == (1, 500.0, 1)
    # the two identical non-employing births are two businesses
    assert _row(paths, "sector_region_monthly", "month = '2025-02-01' and region = 'South East' "
                "and sic_section = 'A'", "business_births") == (2,)


def test_outcomes_are_null_until_observable(home):
    paths, _ = home
    rows = query(paths, "select cohort_month, cohort_claimants, in_work_3m, in_work_6m, in_work_6m_rate, "
                        "median_pay_6m from claimant_employment_outcomes order by cohort_month")
    # HMRC has data to July: January's +3 (April) and +6 (July) are observable, February's +6 (August) is not
    assert rows == [(JAN, 1, 1, 1, 1.0, 1300.0), (FEB, 1, 1, None, None, None)]
    assert query(paths, "select completion_month, region, ssa_tier1, nsf_funded, completers, in_work_6m, "
                        "median_pay_6m from skills_employment_outcomes") == [
        (JAN, "South East", 4, True, 1, 1, 1300.0)]


def test_incremental_run_rebuilds_only_its_months(home):
    paths, first = home
    now = query(paths, "select * from local_labour_market_monthly order by month, local_authority_code")
    before = {(r[0], r[1]): r for r in first}
    after = {(r[0], r[1]): r for r in now}
    assert before.keys() == after.keys()
    changed = {key for key in after if after[key] != before[key]}
    # the late January correction is not picked up by a March-only run; March now includes p9
    assert changed == {(MAR, ADUR)}
    assert after[(MAR, ADUR)][6] == 2  # payrolled_employees: p5 and p9


#: (mart, CTE) -> why DuckDB may store this person-level row CTE (read more than once, stored once).
STORED_ON_PURPOSE = {
    ("local_labour_market_monthly", "employments"):
        "inlined (trust_inlined) it took 21.9 s against 17.9 s stored at national scale, the linked view's join "
        "running once per read; stored, the national month still fits TRUST_MEMORY_LIMIT=6GiB (docs/benchmarks.md)",
    ("local_labour_market_monthly", "employers"):
        "the business register's employer records (1.4 M at national scale), not people",
    ("claimant_employment_outcomes", "cohort_employments_6m"):
        "one cohort's PAYE rows (the claimants whose claim started in a built month), not a month of PAYE",
    ("skills_employment_outcomes", "completer_employments_6m"):
        "one month's completers' PAYE rows, not a month of PAYE",
}


def test_marts_store_no_person_level_rows_unless_meant(home):
    """Every compiled mart of the last build: a person-level row CTE DuckDB would store (read twice, not
    trust_inlined) must be listed above with its reason. sector_region_monthly's stored employments (the pay
    statistics read them twice) spilled past the 12 GiB cap on a national first month."""
    paths, _ = home
    marts = paths.root / "scratch" / "target" / "compiled" / "labour_market_trust" / "models" / "marts"
    files = sorted(marts.glob("*.sql"))  # the marts themselves, not their unit tests' folders
    assert any(f.stem == "sector_region_monthly" for f in files), f"no compiled marts under {marts}"
    stored = {(f.stem, name): reads for f in files for name, reads in stored_person_level_ctes(f.read_text()).items()}
    assert set(stored) == set(STORED_ON_PURPOSE), stored


def test_the_stored_cte_check_counts_reads_through_inlined_ctes():
    """The check itself, on the shape of the regression: a person-level CTE read once by a cheap CTE that is read
    twice is stored; marked not materialized it is not; reference data read twice does not count."""
    regression = """with
cells as (
    select row_number() over (order by region) as cell_id, region from regions
),
employments as (
    select e.person_id, c.cell_id from "run_scratch"."main"."int_employments_linked" as e
    inner join cells as c on e.workplace_region = c.region
),
rows_ as (
    select * from employments where person_id is not null
),
people as (
    select cell_id, count(*) as n from rows_ group by cell_id
),
employers as (
    select cell_id, count(*) as n from rows_ group by cell_id
)

select * from people inner join employers using (cell_id) inner join cells using (cell_id)
"""
    assert stored_person_level_ctes(regression) == {"employments": 2}
    assert stored_person_level_ctes(regression.replace("employments as (", "employments as not materialized (")) == {}
    read_once = regression.replace("inner join employers using (cell_id) ", "")
    assert stored_person_level_ctes(read_once) == {}
