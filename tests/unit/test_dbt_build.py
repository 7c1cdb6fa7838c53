"""dbt build on a tiny hand-made TRUST_HOME: the products' numbers match their definitions, row by row.

The department tables are written here, row by row, with the messiness conformance must handle (an abolished
district, a chained successor, a split county, a recoded district, an unknown code, a null person id, an exact
duplicate, an unknown employer, an unknown SIC section), so every asserted number can be derived by hand from the
rows below. Slow-ish (two dbt builds, ~1 minute), so it runs once per module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

from trust_assets.lib.paths import DBT_PROJECT_DIR, TrustPaths
from trust_assets.lib.sources import BUSINESS_REGISTER, FE_LEARNER_AIMS, PAYE_EMPLOYMENTS, UC_CLAIMS, SourceTable

ADUR = "E07000223"  # current district, South East
TAUNTON_DEANE = "E07000190"  # abolished 2019 -> Somerset West and Taunton, abolished 2023 -> Somerset
SOMERSET = "E06000066"
CUMBRIA = "E10000006"  # county split in 2023 between Cumberland (larger) and Westmorland and Furness
CUMBERLAND = "E06000063"
EAST_HERTS_FORMER = "E07000097"  # East Hertfordshire's code before its 2020 recode
EAST_HERTS = "E07000242"
UNKNOWN = "E99999999"

D = dt.date


def _uc(person, month, code, regime="searching_for_work", start=D(2024, 6, 1), age="25-34", disability=False):
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


def _write(paths: TrustPaths, table: SourceTable, commits: list[list[dict]]) -> None:
    from deltalake import write_deltalake

    uri = str(paths.source_table(table.dept, table.table))
    for rows in commits:
        write_deltalake(uri, pa.Table.from_pylist(rows, schema=table.schema), mode="append")


def write_tiny_home(root: Path) -> TrustPaths:
    """Four department tables under ``root`` (monthly appends, like the departments' own commits)."""
    paths = TrustPaths(root)
    paths.ensure()
    _write(paths, UC_CLAIMS, UC_ROWS)
    _write(paths, PAYE_EMPLOYMENTS, PAYE_ROWS)
    _write(paths, FE_LEARNER_AIMS, AIM_ROWS)
    _write(paths, BUSINESS_REGISTER, BUSINESS_ROWS)
    return paths


def run_dbt(args: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                 str(DBT_PROJECT_DIR), "--quiet"])
    assert result.success, f"dbt {args[0]} failed: {result.exception or result.result}"


def build_months(months: list[str]) -> None:
    from trust_assets.lib.dbt_args import dbt_vars, pins_from_home

    run_dbt(["build", "--vars", json.dumps(dbt_vars(pins_from_home(), months))])
