"""What a data engineer sees on the dbt step in the UI: row counts and column lineage on the marts'
materializations, and a failed blocking dbt check that names its month, rule, share, limit and example rows (in the
event log, and on the check's page in the UI opened in headless Chromium).

Both read the Dagster event log of real runs on the tiny home (the published home is built once per session; the
failing run is one more month, ~30 s).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = pytest.mark.integration

MART = "warehouse/local_labour_market_monthly"


def _events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list:
    return [r.event_log_entry.dagster_event for r in instance.get_records_for_run(run_id, of_type=kind).records]


def _only_run(instance: dg.DagsterInstance) -> str:
    runs = instance.get_runs()
    assert runs, "the published home has no run"
    return next(r.run_id for r in runs if r.job_name == "monthly_products")


def _value(metadata: dict, key: str):
    entry = metadata[key]
    return getattr(entry, "value", entry)


def test_mart_materializations_carry_row_counts_and_column_lineage(published_home):
    from trust_assets.runs.execute import prepare_instance

    instance = prepare_instance(published_home)
    run_id = _only_run(instance)
    materializations = [e.step_materialization_data.materialization
                        for e in _events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)]
    by_key = {m.asset_key.to_user_string(): m.metadata for m in materializations}
    partitions = {m.asset_key.to_user_string(): m.partition for m in materializations}
    # reference seeds are static: one unpartitioned materialization each, beside the month's partitioned models
    assert {k: p for k, p in partitions.items() if p is None} == {
        f"warehouse/{seed}": None for seed in ("uk_local_authorities", "sic2007_sections", "sector_subject_areas")}
    assert partitions[MART] == "2025-01"
    for product in PRODUCTS:
        metadata = by_key[f"warehouse/{product.name}"]
        assert _value(metadata, "dagster/row_count") >= _value(metadata, "dagster/partition_row_count") > 0
        lineage = _value(metadata, "dagster/column_lineage")
        assert lineage.deps_by_column, product.name
    mart = by_key[MART]
    assert _value(mart, "dagster/partition_row_count") == 361  # one row per current district for the one month
    claimants = {(d.asset_key.to_user_string(), d.column_name)
                 for d in _value(mart, "dagster/column_lineage").deps_by_column["uc_claimants"]}
    assert claimants and all(key.startswith("warehouse/int_") for key, _ in claimants), claimants
    # the audit aggregate is a warehouse table too; staging views are not counted (they would re-read the sources)
    assert "dagster/row_count" in by_key["warehouse/conformance_exclusions"]
    assert "dagster/row_count" not in by_key["warehouse/stg_dwp__uc_claims"]


def _add_null_ids(paths: TrustPaths, month: str, share: float) -> int:
    """The department appends ``share`` more of ``month``'s claims with no person id (a broken extract)."""
    uri = str(paths.source_table("dwp", "uc_claims"))
    rows = DeltaTable(uri).to_pyarrow_dataset().to_table(
        filter=pc.field("month") == pa.scalar(dt.date.fromisoformat(f"{month}-01"), pa.date32()))
    bad = rows.slice(0, max(20, int(rows.num_rows * share)))
    index = bad.schema.get_field_index("person_id")
    bad = bad.set_column(index, bad.schema.field(index), pa.nulls(bad.num_rows, bad.schema.field(index).type))
    write_deltalake(uri, bad, mode="append")
    return bad.num_rows


def test_failed_blocking_dbt_check_names_month_rule_share_limit_and_examples(published_home, tiny_months):
    from trust_assets.runs.execute import prepare_instance, run_months

    month = tiny_months[1]
    _add_null_ids(published_home, month, share=0.05)

    [outcome] = run_months(published_home, [month], echo=lambda *_: None)

    assert not outcome.success
    instance = prepare_instance(published_home)
    evaluations = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
                   for e in _events(instance, outcome.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)}
    failed = evaluations["uc_claims_ids_not_null"]
    assert failed.passed is False
    metadata = failed.metadata
    assert _value(metadata, "months") == month
    assert "ids_not_null" in _value(metadata, "rule")
    assert _value(metadata, "limit") == "excluded share at most 1.00% of the month's rows"
    assert 0.03 < _value(metadata, "failing share") < 0.06
    examples = _value(metadata, "example rows")
    (row,) = [r.data for r in examples.records if r.data["rule"] == "ids_not_null"]
    assert row["month"] == f"{month}-01" and row["blocks"] is True and row["excluded_rows"] > 0
    assert "dagster_dbt/failed_row_count" in metadata  # dagster-dbt's own key is kept
    # a passing check is left as dagster-dbt made it
    passing = evaluations["uc_claims_no_duplicates"]
    assert passing.passed and "rule" not in passing.metadata


@pytest.mark.browser
def test_the_failed_check_reads_the_same_in_the_ui(published_home, tiny_months, tmp_path):
    """The same failing run, the check's page in the Dagster UI (headless Chromium, no network beyond the loopback):
    it failed, with the rule and the limit."""
    from _browser import OFFLINE_FLAGS, chromium, dagster_ui, page_text, run_chromium

    from trust_assets.runs.execute import prepare_instance, run_months

    _add_null_ids(published_home, tiny_months[1], share=0.05)
    [outcome] = run_months(published_home, [tiny_months[1]], echo=lambda *_: None)
    assert not outcome.success
    instance = prepare_instance(published_home)
    failed = [e.asset_check_evaluation_data
              for e in _events(instance, outcome.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
              if e.asset_check_evaluation_data.check_name == "uc_claims_ids_not_null"]
    route = "/".join(failed[0].asset_key.path)
    browser = chromium()
    with dagster_ui(published_home, tmp_path / "webserver.log") as url:
        page = f"{url}/assets/{route}?view=checks&checkDetail=uc_claims_ids_not_null"
        args = (*OFFLINE_FLAGS, "--virtual-time-budget=20000", "--window-size=1400,1000")
        dom = run_chromium(browser, tmp_path / "profile", *args, "--dump-dom", page)
        shot = run_chromium(browser, tmp_path / "profile-shot", *args, f"--screenshot={tmp_path / 'check.png'}", page)
    assert shot.returncode == 0 and (tmp_path / "check.png").stat().st_size > 20_000
    text = page_text(dom.stdout)
    (tmp_path / "check.txt").write_text(text)
    assert "uc_claims_ids_not_null" in text and "Failed" in text, text[:2000]
    for shown in ("ids_not_null", "excluded share at most 1.00%"):
        assert shown in text, (shown, text[:3000])
