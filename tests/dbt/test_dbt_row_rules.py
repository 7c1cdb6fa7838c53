"""Source row rules: a small dose of bad rows is excluded, counted and warned about; a large dose blocks the build.

Hand-made department tables (1,000 claimants and 1,000 employments in January 2025, 500 learning aims started in
it) are built clean, then with a small dose of every kind of bad row added (each rule under 1% of the month), then
with a large dose (5% null ids, 5% unknown districts, 5% negative pay). The small dose must leave every product
figure exactly as the clean data gives it and be counted with the right reason; the large dose must fail the
error-severity tests by name, so the marts are never built. Three dbt builds, side by side (~45 s).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from _dbt_home import dbt_command, query, write_commits

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import (
    BUSINESS_REGISTER,
    FE_LEARNER_AIMS,
    PAYE_EMPLOYMENTS,
    UC_CLAIMS,
    SourceTable,
)

pytestmark = pytest.mark.dbt

JAN = dt.date(2025, 1, 1)
DISTRICTS = ("E07000223", "E06000066", "E09000001", "W06000015", "E06000063")  # current districts, 4 regions
TAUNTON_DEANE = "E07000190"  # abolished, conformed to Somerset through two successors
UNKNOWN = "E99999999"
EMPLOYERS = [f"E{i:03d}" for i in range(20)]
MARTS = ("local_labour_market_monthly", "sector_region_monthly", "claimant_employment_outcomes",
         "skills_employment_outcomes")
ROW_RULE_TESTS = ("uc_claims_ids_not_null", "uc_claims_district_conformable", "uc_claims_no_duplicates",
                  "uc_claims_months_in_range", "paye_ids_not_null", "paye_district_conformable",
                  "paye_pay_not_negative", "paye_no_duplicates", "paye_months_in_range", "learner_aims_ids_not_null",
                  "learner_aims_district_conformable", "learner_aims_no_duplicates", "learner_aims_months_in_range")


def _claim(person, code, month=JAN, start=dt.date(2024, 6, 1), regime="searching_for_work"):
    return {"person_id": person, "month": month, "residence_la_code": code, "age_band": "25-34", "sex": "F",
            "disability": False, "conditionality_regime": regime, "claim_start_date": start}


def _employment(person, employer, pay, code, month=JAN, start=dt.date(2020, 1, 1)):
    return {"person_id": person, "employer_id": employer, "month": month, "pay_gbp": pay, "residence_la_code": code,
            "employment_start_date": start}


def _aim(person, aim, code, start=dt.date(2025, 1, 6), end=dt.date(2025, 1, 28)):
    return {"person_id": person, "aim_id": aim, "start_date": start, "planned_end_date": end, "actual_end_date": end,
            "outcome": "achieved", "ssa_tier1": 1 + int(aim[1:]) % 15, "level": "2", "residence_la_code": code,
            "nsf_funded": True}


def clean_rows() -> dict[SourceTable, list[dict]]:
    """A month of plausible rows: people spread over five districts (one recorded by an abolished code)."""
    code = [TAUNTON_DEANE if i % 7 == 0 else DISTRICTS[i % len(DISTRICTS)] for i in range(1000)]
    claims = [_claim(f"p{i:04d}", code[i], start=dt.date(2025, 1, 5) if i % 4 == 0 else dt.date(2024, 6, 1),
                     regime="searching_for_work" if i % 3 else "planning_for_work") for i in range(1000)]
    jobs = [_employment(f"p{i + 500:04d}", EMPLOYERS[i % 20], 900.0 + 7 * i, code[(i + 500) % 1000])
            for i in range(1000)]
    jobs += [_employment("p0503", EMPLOYERS[3], 450.0, code[503]), _employment("p0504", EMPLOYERS[5], 0.0, code[504])]
    aims = [_aim(f"p{i:04d}", f"A{i:04d}", code[i]) for i in range(500)]
    businesses = [{"employer_id": e, "sic_section": "CGKMQ"[i % 5], "sic_division": "10",
                   "workplace_la_code": DISTRICTS[i % len(DISTRICTS)], "size_band": "10-49",
                   "birth_date": dt.date(2010, 1, 1), "death_date": None} for i, e in enumerate(EMPLOYERS)]
    return {UC_CLAIMS: claims, PAYE_EMPLOYMENTS: jobs, FE_LEARNER_AIMS: aims, BUSINESS_REGISTER: businesses}


def small_dose(clean: dict[SourceTable, list[dict]]) -> tuple[dict[SourceTable, list[dict]], dict[tuple, int]]:
    """Bad rows of every kind, each rule at most 1% of the month; and the (source, reason) counts expected."""
    claims, jobs, aims = clean[UC_CLAIMS], clean[PAYE_EMPLOYMENTS], clean[FE_LEARNER_AIMS]
    bad_claims = (
        [dict(claims[i], person_id=None) for i in (1, 2, 3)]  # null_person_id
        + [dict(claims[i]) for i in (4, 5, 6)]  # duplicate_row
        + [_claim(f"u{i}", UNKNOWN) for i in range(3)]  # unknown_code: people nowhere else
        + [_claim("c0", DISTRICTS[0]), _claim("c0", DISTRICTS[1])]  # conflicting_duplicate: where does c0 live?
        + [_claim(f"m{i}", DISTRICTS[0], month=dt.date(2025, 1, 15)) for i in range(2)]  # month_not_month_start
        + [_claim(f"s{i}", DISTRICTS[0], start=dt.date(2025, 2, 3)) for i in range(2)]  # start_after_month
    )
    bad_jobs = (
        [dict(jobs[i], person_id=None) for i in (1, 2, 3)]  # null_person_id
        + [dict(jobs[i], employer_id=None) for i in (4, 5)]  # null_employer_id (a real person: no effect)
        + [dict(jobs[i], pay_gbp=-jobs[i]["pay_gbp"]) for i in (6, 7, 8)]  # negative_pay beside the real record
        + [_employment("n0", EMPLOYERS[0], -800.0, DISTRICTS[0])]  # negative_pay, nobody else: not in work
        + [dict(jobs[i]) for i in (9, 10, 11)]  # duplicate_row
        + [_employment(f"u{i}", EMPLOYERS[1], 5000.0, UNKNOWN) for i in range(3)]  # unknown_code
        + [_employment("m0", EMPLOYERS[2], 9999.0, DISTRICTS[0], month=dt.date(2025, 1, 15))]  # month_not_month_start
        + [_employment("s0", EMPLOYERS[2], 9999.0, DISTRICTS[0], start=dt.date(2025, 3, 1))]  # start_after_month
    )
    bad_aims = (
        [dict(aims[i], person_id=None) for i in (1, 2)]  # null_person_id
        + [dict(aims[3])]  # duplicate_row
        + [_aim("x0", "A9000", DISTRICTS[0]), dict(_aim("x0", "A9000", DISTRICTS[0]), outcome="withdrawn")]
        + [_aim("u0", "A9001", UNKNOWN)]  # unknown_code
        + [_aim("e0", "A9002", DISTRICTS[0], end=dt.date(2024, 12, 1))]  # end_before_start
    )
    expected = {
        ("dwp/uc_claims", "null_person_id"): 3, ("dwp/uc_claims", "duplicate_row"): 3,
        ("dwp/uc_claims", "unknown_code"): 3, ("dwp/uc_claims", "conflicting_duplicate"): 2,
        ("dwp/uc_claims", "month_not_month_start"): 2, ("dwp/uc_claims", "start_after_month"): 2,
        ("hmrc/paye_employments", "null_person_id"): 3, ("hmrc/paye_employments", "null_employer_id"): 2,
        ("hmrc/paye_employments", "negative_pay"): 4, ("hmrc/paye_employments", "duplicate_row"): 3,
        ("hmrc/paye_employments", "unknown_code"): 3, ("hmrc/paye_employments", "month_not_month_start"): 1,
        ("hmrc/paye_employments", "start_after_month"): 1,
        ("dfe/fe_learner_aims", "null_person_id"): 2, ("dfe/fe_learner_aims", "duplicate_row"): 1,
        ("dfe/fe_learner_aims", "conflicting_duplicate"): 2, ("dfe/fe_learner_aims", "unknown_code"): 1,
    }
    # the aim that ends before it starts started in January but is placed by start_date, so it is counted there
    expected[("dfe/fe_learner_aims", "end_before_start")] = 1
    return {UC_CLAIMS: bad_claims, PAYE_EMPLOYMENTS: bad_jobs, FE_LEARNER_AIMS: bad_aims}, expected


def large_dose(clean: dict[SourceTable, list[dict]]) -> dict[SourceTable, list[dict]]:
    """5% null person ids and 5% unknown districts among claims, 5% negative pay among employments."""
    claims, jobs = clean[UC_CLAIMS], clean[PAYE_EMPLOYMENTS]
    return {
        UC_CLAIMS: [dict(claims[i], person_id=None) for i in range(50)]
        + [_claim(f"u{i}", UNKNOWN) for i in range(50)],
        PAYE_EMPLOYMENTS: [dict(jobs[i], pay_gbp=-jobs[i]["pay_gbp"]) for i in range(50)],
    }


def write_home(root: Path, *commits: dict[SourceTable, list[dict]]) -> TrustPaths:
    """Each department table under ``root``, one Delta commit per dict that has rows for it."""
    paths = TrustPaths(root)
    paths.ensure()
    for table in (UC_CLAIMS, PAYE_EMPLOYMENTS, FE_LEARNER_AIMS, BUSINESS_REGISTER):
        write_commits(paths, table, [commit[table] for commit in commits if commit.get(table)])
    return paths


def start_dbt(command: str, root: Path, extra_vars: dict | None = None, select: tuple[str, ...] = (),
              scratch: str = "scratch") -> subprocess.Popen:
    """Start ``dbt <command>`` for January 2025 over the home at ``root`` in a subprocess.

    Several at once (each home has its own warehouse and each run its own target path) because the builds are
    independent and the machine has two cores.
    """
    extra = ["--select", *select, "--indirect-selection", "cautious"] if select else []
    args, env = dbt_command(command, TrustPaths(root), ["2025-01"], scratch, extra_vars, extra)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, _ = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, "")


def _status(output: str, test: str) -> str | None:
    """dbt's verdict for ``test`` in its console output: PASS, WARN, FAIL or ERROR."""
    for line in output.splitlines():
        if f" {test} " in line and "[" in line and " START " not in line:
            for status in ("PASS", "WARN", "FAIL", "ERROR"):
                if status in line:
                    return status
    return None


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    clean = clean_rows()
    dose, expected = small_dose(clean)
    homes = {name: tmp_path_factory.mktemp(name) for name in ("clean", "small", "large")}
    write_home(homes["clean"], clean)
    write_home(homes["small"], clean, dose)  # the bad rows arrive in a later commit, as a department would send
    write_home(homes["large"], clean, large_dose(clean))
    started = {name: start_dbt("build", root) for name, root in homes.items()}
    results = {name: finish(process) for name, process in started.items()}
    return homes, results, expected


def test_small_dose_builds_with_warnings_only(builds):
    _, results, _ = builds
    clean, small = results["clean"], results["small"]
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert small.returncode == 0, small.stdout[-3000:]
    for source in ("uc_claims", "paye", "learner_aims"):
        assert _status(clean.stdout, f"{source}_rows_excluded") == "PASS"
        assert _status(small.stdout, f"{source}_rows_excluded") == "WARN", source
    for test in ROW_RULE_TESTS:
        assert _status(small.stdout, test) == "PASS", test


def test_small_dose_is_counted_with_its_reasons(builds):
    homes, _, expected = builds
    got = {(s, r): n for s, r, n in query(TrustPaths(homes["small"]), """
        select source_key, reason, sum(affected_rows) from conformance_exclusions
        where is_excluded and month = '2025-01-01' and row_basis in ('month', 'start_date') group by 1, 2""")}
    assert got == expected
    clean = query(TrustPaths(homes["clean"]), "select count(*) from conformance_exclusions where is_excluded")
    assert clean == [(0,)]


def test_two_employments_with_one_employer_are_counted_as_summed_not_excluded(builds):
    """p0503 has two differing January rows with employer E003 (921 and 450): both kept, counted as 2 rows."""
    homes, _, _ = builds
    for name in ("clean", "small"):  # the small dose's exact copies and negative-pay twins add no such key
        got = query(TrustPaths(homes[name]), """
            select month, is_excluded, affected_rows from conformance_exclusions
            where source_key = 'hmrc/paye_employments' and reason = 'same_key_summed'""")
        assert got == [(JAN, False, 2)], name


def test_small_dose_leaves_every_product_figure_unchanged(builds):
    homes, _, _ = builds
    for mart in MARTS:
        clean = query(TrustPaths(homes["clean"]), f"select * from {mart} order by all")
        small = query(TrustPaths(homes["small"]), f"select * from {mart} order by all")
        assert clean, f"{mart} is empty: the comparison would prove nothing"
        assert small == clean, mart
    # and the clean month really has the figures the doses would have disturbed
    assert query(TrustPaths(homes["clean"]), "select sum(uc_claimants), sum(payrolled_employees) "
                                             "from local_labour_market_monthly") == [(1000, 1000)]


def test_large_dose_fails_the_error_tests_by_name(builds):
    homes, results, _ = builds
    large = results["large"]
    assert large.returncode != 0
    for test in ("uc_claims_ids_not_null", "uc_claims_district_conformable", "paye_pay_not_negative"):
        assert _status(large.stdout, test) == "FAIL", test
        assert f"Failure in test {test}" in large.stdout, test
    for test in ("paye_ids_not_null", "uc_claims_no_duplicates", "paye_district_conformable"):
        assert _status(large.stdout, test) == "PASS", test
    # the products downstream of the blocked sources are skipped: nothing to publish
    tables = {name for (name,) in query(TrustPaths(homes["large"]),
                                         "select table_name from information_schema.tables")}
    assert not tables & set(MARTS)


def test_policy_var_sets_the_threshold(builds):
    """Raising max_excluded_share to 6% turns the large dose into warnings; an invalid share is refused by name."""
    homes, _, _ = builds
    # build, not test: the screened rows the rules read live in the run's in-memory scratch database, so the
    # models they need are rebuilt in the same dbt invocation (their tests come along: eager selection)
    select = ("+int_uc_claims_screened", "+int_employments_screened")
    lenient = start_dbt("build", homes["large"], {"trust_row_rules": {"max_excluded_share": 0.06}}, select=select)
    # parse needs no warehouse, so it can run beside the test run
    invalid = start_dbt("parse", homes["large"], {"trust_row_rules": {"max_excluded_share": 5}}, scratch="parse")
    lenient, invalid = finish(lenient), finish(invalid)
    assert lenient.returncode == 0, lenient.stdout[-3000:]
    for test in ("uc_claims_ids_not_null", "uc_claims_district_conformable", "paye_pay_not_negative"):
        assert _status(lenient.stdout, test) == "PASS", test
    assert _status(lenient.stdout, "uc_claims_rows_excluded") == "WARN"
    assert invalid.returncode != 0
    assert "trust_row_rules.max_excluded_share must be a share in [0, 1], got 5" in invalid.stdout
