"""The sensor requests exactly the months a department commit touched, and a collapsed month never publishes.

The sensor is evaluated directly (no daemon) against a generated home whose Delta tables the tests change the way a
department would: append a month, rewrite an earlier month (late correction), lose most of a month's rows.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from trust_assets.defs.resources import TrustStorage
from trust_assets.lib.months import shift_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES, source_table

pytestmark = pytest.mark.integration

SENSOR = "new_source_versions"
UC, PAYE = "dwp/uc_claims", "hmrc/paye_employments"


# --- changing department tables the way a department would -------------------------------------------------------

def _uri(paths: TrustPaths, key: str) -> str:
    table = source_table(key)
    return str(paths.source_table(table.dept, table.table))


def _first_day(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def month_rows(paths: TrustPaths, key: str, month: str) -> pa.Table:
    """One month's rows of a monthly table, in the agreed schema."""
    rows = DeltaTable(_uri(paths, key)).to_pyarrow_dataset().to_table(
        filter=pc.field("month") == pa.scalar(_first_day(month), pa.date32()))
    assert rows.num_rows > 0, f"{key} has no rows for {month}"
    return rows.cast(source_table(key).schema)


def with_month(rows: pa.Table, month: str) -> pa.Table:
    index = rows.schema.get_field_index("month")
    return rows.set_column(index, "month", pa.array([_first_day(month)] * rows.num_rows, pa.date32()))


def append_month(paths: TrustPaths, key: str, month: str) -> None:
    """A new monthly commit: the last month's rows again, dated ``month``."""
    write_deltalake(_uri(paths, key), with_month(month_rows(paths, key, shift_month(month, -1)), month), mode="append")


def rewrite_month(paths: TrustPaths, key: str, month: str, keep_every: int = 1, keep: int = 1,
                  revise_pay: bool = False) -> None:
    """Replace one month's rows (a late correction); keep ``keep`` of every ``keep_every`` rows and, with
    ``revise_pay``, raise every tenth row's pay by 10%."""
    rows = month_rows(paths, key, month)
    kept = rows.filter(pa.array([i % keep_every < keep for i in range(rows.num_rows)]))
    if revise_pay:
        pay = kept.column("pay_gbp").to_pylist()
        revised = [v * 1.1 if v is not None and i % 10 == 0 else v for i, v in enumerate(pay)]
        kept = kept.set_column(kept.schema.get_field_index("pay_gbp"), kept.schema.field("pay_gbp"),
                               pa.array(revised, pa.float64()))
    write_deltalake(_uri(paths, key), kept, mode="overwrite", predicate=f"month = '{_first_day(month)}'")


def current_versions(paths: TrustPaths) -> dict[str, int]:
    return {t.key: DeltaTable(_uri(paths, t.key)).version() for t in SOURCE_TABLES}


# --- evaluating the sensor --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from trust_assets.definitions import defs

    return defs()


@pytest.fixture
def tick(definitions):
    """Evaluate the sensor once, as the daemon would, from a cursor; returns its execution data."""
    sensor = definitions.resolve_sensor_def(SENSOR)

    # persistent, as the daemon's: run requests for the month partitions are checked against the instance's
    with dg.instance_for_test() as instance:
        def evaluate(cursor: str | None):
            context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                              repository_def=definitions.get_repository_def(),
                                              resources={"trust": TrustStorage()})
            return sensor.evaluate_tick(context)

        evaluate.instance = instance  # type: ignore[attr-defined]
        yield evaluate


def requested(data) -> list[str]:
    """Every month the tick's run requests cover: one partition, or a contiguous range in one run."""
    return requested_months(data.run_requests)


def requested_months(requests) -> list[str]:
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from trust_assets.lib.months import month_range

    months = []
    for r in requests:
        if r.partition_key is not None:
            months.append(r.partition_key)
        else:
            months += month_range(r.tags[ASSET_PARTITION_RANGE_START_TAG], r.tags[ASSET_PARTITION_RANGE_END_TAG])
    return sorted(months)


def cohorts_followed_up_by(month: str) -> set[str]:
    """Outcome cohorts whose follow-up window ends in ``month`` (from the products registry: +3, +6)."""
    return {shift_month(month, -k) for p in PRODUCTS for k in p.follow_up_months}


def keys(months) -> list[str]:
    """Partition keys are spelt as on the command line (YYYY-MM)."""
    return sorted(months)


def test_first_tick_requests_every_month_then_skips_until_something_changes(tiny_home, tiny_months, tick):
    first = tick(None)
    assert requested(first) == keys(tiny_months)
    assert len(first.run_requests) == 1, "contiguous months are one run, as `trust run` builds them"
    # each month becomes a partition (the UI offers it) in the tick that requests it: the daemon adds them first
    assert [(r.partitions_def_name, list(r.partition_keys)) for r in first.dynamic_partitions_requests] == [
        ("months", keys(tiny_months))]
    versions = current_versions(tiny_home)
    assert json.loads(first.cursor) == versions
    for request in first.run_requests:
        assert request.run_config == {"resources": {"source_pins": {"config": {"versions": versions}}}}
        assert request.tags["trust/trigger"] == SENSOR
    assert len({r.run_key for r in first.run_requests}) == len(first.run_requests)
    assert {e.asset_key.to_user_string() for e in first.asset_events} == {t.key for t in SOURCE_TABLES}

    second = tick(first.cursor)
    assert second.run_requests == []
    assert "no new department table versions" in second.skip_message
    assert second.cursor == first.cursor


def test_new_month_is_requested_with_the_cohorts_whose_follow_up_arrived(tiny_home, tiny_months, tick):
    cursor = tick(None).cursor
    new_month = shift_month(tiny_months[-1], 1)  # 2025-09

    # DWP commits first: the month cannot be built until HMRC has it too, so nothing is requested yet.
    append_month(tiny_home, UC, new_month)
    waiting = tick(cursor)
    assert requested(waiting) == []
    assert json.loads(waiting.cursor)[UC] == current_versions(tiny_home)[UC]

    append_month(tiny_home, PAYE, new_month)
    arrived = tick(waiting.cursor)
    expected = {new_month} | cohorts_followed_up_by(new_month)
    assert expected == {"2025-09", "2025-06", "2025-03"}  # the registry's follow-ups are +3 and +6 months
    assert requested(arrived) == keys(expected)
    versions = current_versions(tiny_home)
    assert json.loads(arrived.cursor) == versions
    for request in arrived.run_requests:
        assert request.run_config["resources"]["source_pins"]["config"]["versions"] == versions
        assert f"{PAYE}@{versions[PAYE]}" in request.tags["trust/source_versions"]


def test_month_delivered_before_the_first_is_requested_and_put_first(tiny_home, tiny_months, tick):
    """A department delivers history late: a month before every partition. Dagster refuses a tick whose
    partition requests delete and re-add the same keys (what keeping calendar order takes), so the sensor puts the
    month in its place itself; the tick then requests that month alone, and the instance lists it first."""
    from trust_assets.defs.partitions import register_months, registered_months

    register_months(tick.instance, tiny_months)  # what the daemon applied from the first tick's requests
    cursor = tick(None).cursor
    earlier = shift_month(tiny_months[0], -1)  # 2024-12
    for key in (UC, PAYE):
        write_deltalake(_uri(tiny_home, key), with_month(month_rows(tiny_home, key, tiny_months[0]), earlier),
                        mode="append")

    data = tick(cursor)
    assert requested(data) == [earlier]
    assert registered_months(tick.instance) == [earlier, *tiny_months]
    assert data.dynamic_partitions_requests == []  # already applied: the keys were re-added in calendar order


def test_late_correction_requests_the_corrected_month_and_its_cohorts(tiny_home, tick):
    cursor = tick(None).cursor
    corrected = "2025-07"
    before = current_versions(tiny_home)
    rewrite_month(tiny_home, PAYE, corrected)  # rewritten but unchanged: nothing to rebuild
    unchanged = tick(cursor)
    assert requested(unchanged) == []
    cursor = unchanged.cursor
    before = current_versions(tiny_home)
    rewrite_month(tiny_home, PAYE, corrected, revise_pay=True)

    data = tick(cursor)
    versions = current_versions(tiny_home)
    assert versions[PAYE] == before[PAYE] + 1
    assert requested(data) == keys({corrected} | cohorts_followed_up_by(corrected))
    assert requested(data) == ["2025-01", "2025-04", "2025-07"]  # partition keys spelt as on the command line
    assert all(r.run_config["resources"]["source_pins"]["config"]["versions"] == versions for r in data.run_requests)
    assert json.loads(data.cursor) == versions


def _published_versions(paths: TrustPaths) -> dict[str, int]:
    return {p.name: DeltaTable(str(paths.published_product(p.name))).version() for p in PRODUCTS}


def test_collapsed_month_fails_the_blocking_volume_check_and_publishes_nothing(published_home, tiny_months):
    from trust_assets.runs.execute import prepare_instance, run_months

    published_before = _published_versions(published_home)
    month = tiny_months[1]  # 2025-02, after the published 2025-01
    rows_before = month_rows(published_home, UC, month).num_rows
    rewrite_month(published_home, UC, month, keep_every=5, keep=2)  # 60% of the month's claims disappear
    assert month_rows(published_home, UC, month).num_rows < 0.5 * rows_before

    [outcome] = run_months(published_home, [month], echo=lambda *_: None)

    assert not outcome.success
    assert "dwp__uc_claims__volume failed" in outcome.message
    assert _published_versions(published_home) == published_before
    instance = prepare_instance(published_home)
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in _events(instance, outcome.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)}
    assert checks["dwp__uc_claims__volume"] is False
    assert checks["hmrc__paye_employments__volume"] is True
    materialized = {e.asset_key.to_user_string()
                    for e in _events(instance, outcome.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)}
    # The blocking check stopped the run at the sources: no model was built, nothing audited or published.
    assert not any(k.startswith(("warehouse/", "candidates/", "published/")) for k in materialized), materialized


def _events(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    return [r.event_log_entry.dagster_event for r in instance.get_records_for_run(run_id, of_type=event_type).records]


def test_after_a_cli_run_the_sensor_requests_nothing_then_only_new_work(tiny_home, tiny_months, tick):
    """A ``trust run`` of every month, then the UI's sensor: on its first tick (no cursor, as after a daemon
    restart) and with a stale cursor it requests nothing, since every month is published from the current
    versions. A new month then requests exactly that month and the cohorts it follows up."""
    from trust_assets.defs.partitions import registered_months
    from trust_assets.runs.execute import run_months
    from trust_assets.runs.instance import prepare_instance

    [outcome] = run_months(tiny_home, tiny_months, echo=lambda *_: None)
    assert outcome.success, outcome.message
    assert registered_months(prepare_instance(tiny_home)) == tiny_months  # the months the UI now offers
    stale = json.dumps(dict.fromkeys(current_versions(tiny_home), 0))
    for cursor in (None, stale):
        data = tick(cursor)
        assert data.run_requests == [], requested(data)
        assert json.loads(data.cursor) == current_versions(tiny_home)

    new_month = shift_month(tiny_months[-1], 1)
    append_month(tiny_home, UC, new_month)
    append_month(tiny_home, PAYE, new_month)
    assert requested(tick(None)) == keys({new_month} | cohorts_followed_up_by(new_month))
