"""What a deployment turns on: the schedule, per-product freshness from the departments' cadence, run-failure
alerts; and the step errors and published-asset metadata the UI shows."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from trust_assets.defs.automation import ALERTS_FILE, product_freshness_policy, run_failure_alerts
from trust_assets.defs.publish.assets import published_columns, published_lineage
from trust_assets.defs.resources import TrustStorage
from trust_assets.defs.transform.assets import dbt_failure_cause
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.cadence import SOURCE_CADENCE, product_freshness_windows
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES


def test_freshness_follows_the_slowest_department():
    assert set(SOURCE_CADENCE) == {t.key for t in SOURCE_TABLES}
    warn, fail = product_freshness_windows()
    slowest = max(c.delivered_after for c in SOURCE_CADENCE.values())
    assert warn >= timedelta(days=31) + slowest and fail > warn
    policy = product_freshness_policy()
    assert policy.fail_window.to_timedelta() == fail and policy.warn_window.to_timedelta() == warn


def test_published_columns_carry_descriptions_and_lineage_to_the_candidate():
    for p in PRODUCTS:
        schema = published_columns(p)
        assert all(c.description for c in schema.columns), p.name
        lineage = published_lineage(p, [c.name for c in schema.columns])
        deps = lineage.deps_by_column[schema.columns[0].name]
        assert deps[0].asset_key == dg.AssetKey(["candidates", p.name]) or deps[0].asset_key.path[-1] == p.name


def test_dbt_step_error_starts_with_the_cause_not_the_command():
    class Error(Exception):
        description = ("The dbt CLI process with command\n\n`dbt build --vars {" + "x" * 4000 + "}`\n\nfailed with "
                       "exit code `1`.\n\nErrors parsed from dbt logs:\n\nFailure in test trust_row_rule_within_limit"
                       "\n\nGot 1 result, configured to fail if != 0")
    text = dbt_failure_cause(["warehouse/stg_dwp__uc_claims:within_limit_no_duplicates"], Error())
    assert text.startswith("dbt build failed: 1 blocking dbt test(s) failed: warehouse/stg_dwp__uc_claims")
    assert "Failure in test trust_row_rule_within_limit" in text and "--vars" not in text and len(text) < 1000


@pytest.fixture
def failed_run(tmp_path):
    @dg.op
    def boom():
        raise ValueError("source dwp/uc_claims has no rows for 2025-03")

    @dg.job
    def monthly_products():
        boom()

    instance = dg.DagsterInstance.ephemeral()
    result = monthly_products.execute_in_process(instance=instance, raise_on_error=False)
    (record,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    failure = record.dagster_event
    return instance, instance.get_run_by_id(result.run_id), failure


def test_run_failure_sensor_writes_an_alert_record_and_posts_the_webhook(tmp_path, monkeypatch, failed_run):
    monkeypatch.setenv("TRUST_HOME", str(tmp_path / "home"))
    posted = []

    def fake_post(url, json, timeout):
        import httpx

        posted.append((url, json))
        return httpx.Response(204)

    monkeypatch.setattr("httpx.post", fake_post)
    monkeypatch.setenv("TRUST_ALERT_WEBHOOK", "https://alerts.example/hook")
    instance, run, failure = failed_run
    context = dg.build_run_status_sensor_context(sensor_name="run_failure_alerts", dagster_event=failure,
                                                 dagster_instance=instance, dagster_run=run,
                                                 resources={"trust": TrustStorage()}).for_run_failure()
    run_failure_alerts(context)
    record = json.loads((TrustPaths(tmp_path / "home").alerts / ALERTS_FILE).read_text().splitlines()[0])
    assert record["run_id"] == run.run_id and record["webhook"] == "HTTP 204"
    assert record["steps"][0]["error"].startswith("ValueError: source dwp/uc_claims has no rows for 2025-03") or \
        record["steps"][0]["error"].startswith("source dwp/uc_claims has no rows for 2025-03")
    assert posted[0][0] == "https://alerts.example/hook" and posted[0][1]["alert"]["run_id"] == run.run_id


def test_reference_seeds_are_unpartitioned_with_the_csv_checksum_as_code_version():
    import json

    from trust_assets.definitions import defs
    from trust_assets.lib.paths import DBT_PROJECT_DIR

    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    seeds = {n["name"]: n["checksum"]["checksum"] for n in manifest["nodes"].values() if n["resource_type"] == "seed"}
    graph = defs().resolve_asset_graph()
    for name, checksum in seeds.items():
        node = graph.get(dg.AssetKey(["warehouse", name]))
        assert node.group_name == "reference" and node.partitions_def is None, name
        assert node.code_version == checksum, name
    assert graph.get(dg.AssetKey(["warehouse", "stg_reference__local_authorities"])).partitions_def is not None


def test_declarative_automation_only_observes_department_tables_once_a_day():
    """The one AutomationCondition is on the observable sources: at the daily tick it requests their
    observation and nothing that builds (the release is a job, started by the sensor or the schedule)."""
    import datetime as dt

    from trust_assets.definitions import defs
    from trust_assets.defs.automation import OBSERVATION_SENSOR

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    with_condition = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert with_condition == {dg.AssetKey(t.key.split("/")) for t in SOURCE_TABLES}
    sensor = definitions.get_repository_def().get_sensor_def(OBSERVATION_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED

    instance = dg.DagsterInstance.ephemeral()
    before = dg.evaluate_automation_conditions(definitions, instance, evaluation_time=dt.datetime(
        2026, 12, 2, 4, 30, tzinfo=dt.UTC))
    assert before.total_requested == 0
    after = dg.evaluate_automation_conditions(definitions, instance, cursor=before.cursor, evaluation_time=dt.datetime(
        2026, 12, 2, 5, 30, tzinfo=dt.UTC))
    assert after.total_requested == len(SOURCE_TABLES)
    again = dg.evaluate_automation_conditions(definitions, instance, cursor=after.cursor, evaluation_time=dt.datetime(
        2026, 12, 2, 6, 30, tzinfo=dt.UTC))
    assert again.total_requested == 0  # once per tick, not on every evaluation
