"""Which dbt events the step holds until dbt exits: only what it will enrich from the warehouse file."""

from __future__ import annotations

import dagster as dg
import pytest

from trust_assets.defs.transform.metadata import held_back

MANIFEST = {"nodes": {
    "model.p.mart": {"resource_type": "model", "config": {"materialized": "table"},
                     "relation_name": '"warehouse"."main"."mart"'},
    "model.p.scratch": {"resource_type": "model", "config": {"materialized": "table"},
                        "relation_name": '"run_scratch"."main"."int_scratch"'},
    "model.p.view": {"resource_type": "model", "config": {"materialized": "view"},
                     "relation_name": '"warehouse"."main"."stg_view"'},
    "seed.p.codes": {"resource_type": "seed", "config": {"materialized": "seed"},
                     "relation_name": '"warehouse"."main"."codes"'},
}}


def output(unique_id: str) -> dg.Output:
    return dg.Output(None, output_name=unique_id.replace(".", "_"), metadata={"unique_id": unique_id})


@pytest.mark.parametrize(("unique_id", "held"), [
    ("model.p.mart", True),  # a warehouse table: its rows are counted once dbt exits
    ("model.p.scratch", False),  # the run's scratch is removed before the counts are read
    ("model.p.view", False),  # counting a view would re-read the department files
    ("seed.p.codes", False),  # seeds come first: holding them would hold the whole build
    ("model.p.unknown", False),
])
def test_outputs_are_held_only_when_they_will_be_counted(unique_id: str, held: bool) -> None:
    assert held_back(output(unique_id), MANIFEST) is held


def test_no_output_is_held_on_an_engine_without_a_warehouse_file() -> None:
    assert held_back(output("model.p.mart"), MANIFEST, counted=False) is False


def test_failed_checks_are_held_and_passed_ones_are_not() -> None:
    failed = dg.AssetCheckResult(asset_key="mart", check_name="c", passed=False)
    passed = dg.AssetCheckResult(asset_key="mart", check_name="c", passed=True)
    assert held_back(failed, MANIFEST, counted=False) is True
    assert held_back(passed, MANIFEST) is False
