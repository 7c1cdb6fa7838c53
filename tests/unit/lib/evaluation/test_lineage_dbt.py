"""Best-effort column lineage from dbt's manifest: traced through compiled SQL, else by column name."""

from __future__ import annotations

import pytest

from trust_assets.lib.evaluation.lineage.dbt_columns import column_lineage_from_dbt, trace_manifest
from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage
from trust_assets.lib.registry.products import PRODUCTS


def _manifest(compiled: bool = True) -> dict:
    def model(name: str, sql: str, parents: list[str], columns: list[str]) -> dict:
        node = {"resource_type": "model", "name": name, "alias": name,
                "depends_on": {"nodes": parents}, "columns": {c: {"name": c} for c in columns}}
        if compiled:
            node["compiled_code"] = sql
        return node

    return {
        "sources": {"source.trust.dwp.uc_claims": {"resource_type": "source", "source_name": "dwp",
                                                   "name": "uc_claims", "identifier": "uc_claims"}},
        "nodes": {
            "model.trust.stg_dwp__claimants": model(
                "stg_dwp__claimants",
                'select person_id, month, residence_la_code as local_authority_code from "db"."main"."uc_claims"',
                ["source.trust.dwp.uc_claims"], ["person_id", "month", "local_authority_code"]),
            "model.trust.local_labour_market_monthly": model(
                "local_labour_market_monthly",
                'select month, local_authority_code, count(distinct person_id) as claimants '
                'from "db"."main"."stg_dwp__claimants" group by 1, 2',
                ["model.trust.stg_dwp__claimants"], ["month", "local_authority_code", "claimants"]),
        },
    }


def test_traces_renames_and_aggregates_through_compiled_sql() -> None:
    lineage = column_lineage_from_dbt(_manifest(), "local_labour_market_monthly")
    assert lineage["local_authority_code"] == [("dwp/uc_claims", "residence_la_code", "IDENTITY")]
    assert lineage["claimants"] == [("dwp/uc_claims", "person_id", "AGGREGATION")]
    assert lineage["month"] == [("dwp/uc_claims", "month", "IDENTITY")]


def test_no_compiled_sql_means_no_guessed_lineage() -> None:
    # names alone would link `month` to every source that has one: without compiled SQL nothing is claimed
    assert column_lineage_from_dbt(_manifest(compiled=False), "local_labour_market_monthly") == {}


def test_a_row_count_depends_on_the_rows_it_groups() -> None:
    manifest = _manifest()
    manifest["nodes"]["model.trust.local_labour_market_monthly"]["compiled_code"] = (
        'select month, count(*) as claims from "db"."main"."stg_dwp__claimants" group by month')
    hops = trace_manifest(manifest)
    assert hops["model.trust.local_labour_market_monthly"]["claims"] == [
        ("model.trust.stg_dwp__claimants", "month", "AGGREGATION")]


def test_unknown_model_is_named() -> None:
    with pytest.raises(KeyError, match="model 'nope' not in the dbt manifest"):
        column_lineage_from_dbt(_manifest(), "nope")


@pytest.fixture(scope="module")
def project_lineage():
    graph = load_dbt_lineage()
    if graph is None or not graph.hops:
        pytest.fail("the set-up's compiled lineage is missing: run `bash scripts/bootstrap.sh`")
    return graph


@pytest.mark.parametrize("product", [p.name for p in PRODUCTS])
def test_every_published_column_of_the_project_has_lineage(project_lineage, product: str) -> None:
    mart = project_lineage.model_id(product)
    columns = [c for c in project_lineage.hops[mart] if not c.startswith("sdc_")]  # sdc_* are never published
    lineage = project_lineage.published_lineage(product, [*columns, "suppression"])
    assert set(lineage) == {*columns, "suppression"}, "columns without lineage"
    keys = {key for entries in lineage.values() for key, _, _ in entries}
    assert keys & {"dwp/uc_claims", "hmrc/paye_employments", "dfe/fe_learner_aims", "beis/businesses"}


def test_project_lineage_follows_renames_aggregates_and_reference_data(project_lineage) -> None:
    lineage = project_lineage.published_lineage(
        "local_labour_market_monthly", ["uc_claimants", "local_authority_name", "payrolled_employees",
                                        "uc_claimants_status", "suppression"])
    assert lineage["uc_claimants"] == [("dwp/uc_claims", "person_id", "AGGREGATION")]
    assert lineage["local_authority_name"] == [("seed:uk_local_authorities", "nice-name", "IDENTITY")]  # renamed
    assert "hmrc/paye_employments" in {k for k, _, _ in lineage["payrolled_employees"]}  # count(*) of jobs
    assert lineage["uc_claimants_status"] == [("dwp/uc_claims", "person_id", "CONDITIONAL")]
    assert ("dwp/uc_claims", "person_id", "CONDITIONAL") in lineage["suppression"]


def test_project_edges_are_dbt_dependencies_not_names(project_lineage) -> None:
    edges = set(project_lineage.edges())
    assert ("model.labour_market_trust.int_uc_claims_conformed",
            "model.labour_market_trust.claimant_employment_outcomes") in edges
    # no naming-convention links: a staging model of one department feeds no mart directly
    assert not any(p.endswith("stg_dwp__uc_claims") and c.endswith("_monthly") for p, c in edges)
