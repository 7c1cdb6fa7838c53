"""Best-effort column lineage from dbt's manifest: traced through compiled SQL, else by column name."""

from __future__ import annotations

import pytest

from trust_assets.lib.evaluation.lineage.dbt_columns import column_lineage_from_dbt


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


def test_falls_back_to_matching_names_without_compiled_sql() -> None:
    lineage = column_lineage_from_dbt(_manifest(compiled=False), "local_labour_market_monthly")
    assert lineage == {"month": [("dwp/uc_claims", "month", "IDENTITY")]}  # renamed/aggregated ones are unknown


def test_unknown_model_is_named() -> None:
    with pytest.raises(KeyError, match="model 'nope' not in the dbt manifest"):
        column_lineage_from_dbt(_manifest(), "nope")
