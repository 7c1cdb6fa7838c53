"""The bench's floor (DuckDB) and batch-copy peer (pandas) compute the same products as the dbt marts.

A tiny generated home, one month built by dbt (models and seeds, no tests: ~15 s), then every cell of the floor's
products is compared with the marts and every cell of the peer's with the floor's. If these drift apart the bench
would be timing something other than the products. The data has the generator's mess (abolished district codes,
null ids, duplicate rows, a resubmitted month), so the floor's source row rules are checked too.
"""

from __future__ import annotations

import math

import pytest
from _dbt_home import run_dbt

from trust_assets.bench.reference import reference
from trust_assets.lib.paths import TrustPaths

pytestmark = pytest.mark.dbt

MONTH = "2025-03"  # the third month: HMRC has resubmitted the second, as it does from then on
KEYS = {
    "local_labour_market_monthly": ("month", "local_authority_code"),
    "sector_region_monthly": ("month", "region", "sic_section"),
    "claimant_employment_outcomes": ("cohort_month", "region", "age_band", "disability"),
    "skills_employment_outcomes": ("completion_month", "region", "ssa_tier1", "nsf_funded"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Tiny synthetic departments (3 months, with mess) and the marts for the last month, built by dbt."""
    from trust_assets.synth.writer import generate

    root = tmp_path_factory.mktemp("bench")
    paths = TrustPaths(root / "home")
    paths.ensure()
    generate(paths, seed=3, scale="tiny", months=3)
    # models and seeds only: the marts' own tests are test_dbt_build's and test_dbt_row_rules' business
    run_dbt("build", paths, [MONTH], extra_args=["--resource-type", "seed", "--resource-type", "model"])
    return paths


def _rows(table) -> dict[tuple, dict]:
    """Rows keyed by their grain, with dates as ISO text so Arrow, DuckDB and pandas values compare equal."""
    records = table.to_pylist() if hasattr(table, "to_pylist") else table.to_dict("records")
    out = {}
    for record in records:
        clean = {k: (v.isoformat()[:10] if hasattr(v, "isoformat") else v) for k, v in record.items()}
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in clean.items()}
        clean = {k: (None if v is not None and str(v) == "<NA>" else v) for k, v in clean.items()}
        out[tuple(clean[k] for k in KEYS[_product(record)])] = clean
    return out


def _product(record: dict) -> str:
    for name, keys in KEYS.items():
        if set(keys) <= set(record) and (name != "local_labour_market_monthly" or "local_authority_code" in record):
            if name == "sector_region_monthly" and "sic_section" not in record:
                continue
            return name
    raise AssertionError(f"unknown product row {record}")


def _same(left: dict[tuple, dict], right: dict[tuple, dict], columns: list[str]) -> list[str]:
    problems = [f"cells only on one side: {sorted(set(left) ^ set(right), key=str)[:5]}"] if set(left) != set(
        right) else []
    for key in set(left) & set(right):
        for column in columns:
            a, b = left[key].get(column), right[key].get(column)
            if a is None or b is None:
                if a is not b:
                    problems.append(f"{key} {column}: {a} != {b}")
            elif isinstance(a, float) or isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    problems.append(f"{key} {column}: {a} != {b}")
            elif a != b:
                problems.append(f"{key} {column}: {a} != {b}")
    return problems


def _marts(paths: TrustPaths, product: str) -> dict[tuple, dict]:
    import duckdb

    month_column = KEYS[product][0]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        table = con.sql(f"select * from {product} where {month_column} = date '{MONTH}-01'").to_arrow_table()
    return _rows(table)


@pytest.fixture(scope="module")
def floor(built):
    from trust_assets.bench.floor import floor_products

    return floor_products(built, MONTH)


def test_floor_equals_the_marts_cell_by_cell(built, floor):
    for product, table in floor.items():
        mine, marts = _rows(table), _marts(built, product)
        assert mine, f"the floor built no {product} rows"
        columns = [c for c in table.column_names if c not in KEYS[product]]
        assert _same(mine, marts, columns) == [], product


def test_shared_floor_equals_the_floor_cell_by_cell(built, floor):
    """The second reference (each source screened once, one script) computes exactly the per-product floor."""
    from trust_assets.bench.floor import floor_products

    shared = floor_products(built, MONTH, shared=True)
    assert set(shared) == set(floor)
    for product, table in shared.items():
        assert table.column_names == floor[product].column_names, product
        columns = [c for c in table.column_names if c not in KEYS[product]]
        assert _same(_rows(table), _rows(floor[product]), columns) == [], product


def test_floor_uc_claimants_of_one_district_month(built, floor):
    """One cell spelled out: the district with the most claimants agrees with the mart."""
    rows = floor["local_labour_market_monthly"].to_pylist()
    busiest = max(rows, key=lambda r: r["uc_claimants"])
    assert busiest["uc_claimants"] > 0
    cell = _marts(built, "local_labour_market_monthly")[(f"{MONTH}-01", busiest["local_authority_code"])]
    assert cell["uc_claimants"] == busiest["uc_claimants"]
    assert cell["payrolled_employees"] == busiest["payrolled_employees"]


def test_peer_equals_the_floor_cell_by_cell(built, floor):
    from trust_assets.bench.peer import peer_products

    peer = peer_products(built, MONTH)
    assert set(peer) == set(floor)
    for product, frame in peer.items():
        assert list(frame.columns) == floor[product].column_names, product
        columns = [c for c in frame.columns if c not in KEYS[product]]
        assert _same(_rows(frame), _rows(floor[product]), columns) == [], product


def test_reference_conforms_recoded_abolished_and_split_codes():
    ref = reference()
    assert len(ref.districts) == 361
    assert ref.conformed["E07000097"].code == "E07000242"  # East Hertfordshire's former code
    assert ref.conformed["E07000190"].code == "E06000066"  # Taunton Deane -> ... -> Somerset (two hops)
    assert ref.conformed["E10000006"].code == "E06000063"  # Cumbria -> Cumberland, the larger successor
    assert "E10000014" not in ref.conformed  # Hampshire County Council: not a district
