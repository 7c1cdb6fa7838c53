"""The dbt project parses with no vars and no data, and its marts keep the contract the pipeline relies on.

`dbt parse` runs at setup time (before any department has shared anything), so it must not need vars or files.
The four marts are the products in trust_assets/lib/registry/products.py: same names, the grain columns first, contracts
enforced with a data type on every column, built incrementally by month; the person-level layers are views only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trust_assets.lib.paths import DBT_PROJECT_DIR
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES
from trust_assets.lib.sources.delta_pins import DUCKDB_TYPES

pytestmark = pytest.mark.dbt

#: Published measure columns per product, in order, after the grain (sdc_ columns follow, hidden).
MEASURES = {
    "local_labour_market_monthly": ["local_authority_name", "region", "uc_claimants",
                                    "uc_claimants_searching_for_work", "payrolled_employees", "median_monthly_pay",
                                    "fe_learner_starts", "employer_businesses", "business_births"],
    "sector_region_monthly": ["payrolled_employees", "median_monthly_pay", "employer_businesses", "business_births",
                              "business_deaths"],
    "claimant_employment_outcomes": ["cohort_claimants", "in_work_3m", "in_work_6m", "in_work_6m_rate",
                                     "median_pay_6m"],
    "skills_employment_outcomes": ["completers", "in_work_6m", "in_work_6m_rate", "median_pay_6m"],
}
PAY_STATS = {
    "local_labour_market_monthly": "median_monthly_pay",
    "sector_region_monthly": "median_monthly_pay",
    "claimant_employment_outcomes": "median_pay_6m",
    "skills_employment_outcomes": "median_pay_6m",
}
SDC_SUFFIXES = ("people", "employers", "total", "top1", "top2")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """Parse the project with no vars and no data, into a private target path."""
    from dbt.cli.main import dbtRunner

    out = tmp_path_factory.mktemp("dbt_parse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRUST_HOME", str(out / "home"))  # never created: parse must not touch data
        result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                     str(DBT_PROJECT_DIR), "--target-path", str(out / "target"), "--log-path",
                                     str(out / "logs"), "--quiet"])
    assert result.success, f"dbt parse failed: {result.exception}"
    return json.loads((out / "target" / "manifest.json").read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_project_identity(manifest):
    assert manifest["metadata"]["project_name"] == "labour_market_trust"


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.name)
def test_mart_contract_matches_the_product(manifest, product):
    node = _models(manifest)[product.name]
    config = node["config"]
    assert config["contract"]["enforced"] is True
    assert config["materialized"] == "incremental"
    assert config["incremental_strategy"] == "delete+insert"
    assert config["unique_key"] == product.month_column
    columns = node["columns"]
    names = list(columns)
    stat = PAY_STATS[product.name]
    sdc = [f"sdc_{stat}_{suffix}" for suffix in SDC_SUFFIXES]
    published = [c for c in product.grain if c not in MEASURES[product.name]] + MEASURES[product.name]
    assert names == published + sdc
    assert all(columns[c]["data_type"] for c in names), "every contracted column needs a data type"
    assert columns[product.month_column]["data_type"] == "date"
    assert columns[stat]["data_type"] == "double"
    assert node["path"].startswith("marts/")


def test_contracts_use_types_both_engines_accept(manifest):
    """Spark's VARCHAR needs a length (`varchar)` fails to parse on Sail): contracts say string, as DuckDB accepts."""
    for name, node in _models(manifest).items():
        if not node["config"].get("contract", {}).get("enforced"):
            continue
        for column, spec in node["columns"].items():
            assert (spec.get("data_type") or "").lower() not in {"varchar", "text", "char"}, f"{name}.{column}"


def test_incremental_models_delete_their_built_months_when_they_run(manifest):
    """The pre-hook is a template string, rendered when the model runs; called directly in config() it renders at
    parse time, where it is `select 1`, and a rebuilt month would keep rows that no longer exist."""
    for name, node in _models(manifest).items():
        if node["config"]["materialized"] != "incremental":
            continue
        hooks = [h["sql"] for h in node["config"].get("pre-hook", [])]
        assert any("trust_delete_built_months" in h for h in hooks), (name, hooks)


def test_person_level_layers_never_reach_the_warehouse_file(manifest):
    """Staging: views over the pinned files. Intermediate: the run_scratch database (tables or views; a file
    under TRUST_HOME that the trust's runs remove before and after each build, or in memory for a bare dbt run).
    Only the marts and the exclusion counts are tables in the warehouse."""
    models = _models(manifest)
    staging = {name: node for name, node in models.items() if name.startswith("stg_")}
    intermediate = {name: node for name, node in models.items() if name.startswith("int_")}
    assert staging and intermediate, "no staging or intermediate models found"
    assert {node["config"]["materialized"] for node in staging.values()} == {"view"}
    assert {node["database"] for node in intermediate.values()} == {"run_scratch"}
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "TRUST_DUCKDB_SCRATCH', ':memory:'" in profile and "alias: run_scratch" in profile
    in_warehouse = {name for name, node in models.items()
                    if node["config"]["materialized"] != "view" and node["database"] != "run_scratch"}
    assert in_warehouse == {p.name for p in PRODUCTS} | {"conformance_exclusions", "source_reach"}


def test_sources_declare_the_agreed_schemas(manifest):
    sources = {(s["source_name"], s["name"]): s for s in manifest["sources"].values()}
    assert set(sources) == {(t.dept, t.table) for t in SOURCE_TABLES}
    for table in SOURCE_TABLES:
        columns = sources[(table.dept, table.table)]["columns"]
        declared = {name: col["data_type"].upper() for name, col in columns.items()}
        assert declared == {c.name: DUCKDB_TYPES[str(c.type)] for c in table.columns}, table.key


def test_staging_models_depend_on_their_sources(manifest):
    models = _models(manifest)
    for table in SOURCE_TABLES:
        readers = [name for name, node in models.items()
                   if f"source.labour_market_trust.{table.dept}.{table.table}" in node["depends_on"]["nodes"]]
        assert len(readers) == 1 and readers[0].startswith(f"stg_{table.dept}__"), (table.key, readers)


def test_conformance_logic_has_unit_tests(manifest):
    tested = {u["model"] for u in manifest["unit_tests"].values()}
    assert {"int_district_codes_conformed", "int_uc_claims_conformed"} <= tested
    assert tested & {p.name for p in PRODUCTS}, "at least one mart measure needs a unit test"


def test_no_hub_packages():
    """`dbt deps` cannot reach hub.getdbt.com here: the project must not need packages."""
    assert not (DBT_PROJECT_DIR / "packages.yml").exists()
    assert not (DBT_PROJECT_DIR / "dependencies.yml").exists()


def test_profile_puts_the_warehouse_under_trust_home():
    text = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "env_var('TRUST_HOME'" in text and "/trust/warehouse.duckdb" in text
    assert Path(DBT_PROJECT_DIR / "dbt_project.yml").read_text().count("profile: labour_market_trust") == 1
