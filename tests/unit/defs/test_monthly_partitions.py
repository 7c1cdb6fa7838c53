"""Monthly partitions follow the months the department tables hold, in calendar order, and the schedule never runs
a month without data (issue 10, item 6: the UI's backfill defaults fall on months that have data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest

from trust_assets.defs.partitions import (
    MONTHS_PARTITIONS,
    new_months,
    partition_requests,
    register_months,
    registered_months,
)
from trust_assets.defs.resources import TrustStorage


def test_new_months_are_appended_and_a_late_month_is_put_in_its_place():
    assert partition_requests([], ["2025-02", "2025-01-01"]) == [
        dg.AddDynamicPartitionsRequest(MONTHS_PARTITIONS, ["2025-01", "2025-02"])]
    assert partition_requests(["2025-01", "2025-02"], ["2025-02", "2025-03"]) == [
        dg.AddDynamicPartitionsRequest(MONTHS_PARTITIONS, ["2025-03"])]
    assert partition_requests(["2025-01", "2025-02"], ["2025-01", "2025-02"]) == []
    late = partition_requests(["2025-02", "2025-03", "2025-05"], ["2025-04", "2025-01"])
    assert late == [dg.DeleteDynamicPartitionsRequest(MONTHS_PARTITIONS, ["2025-02", "2025-03", "2025-05"]),
                    dg.AddDynamicPartitionsRequest(MONTHS_PARTITIONS,
                                                   ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"])]
    assert new_months(late, ["2025-02", "2025-03", "2025-05"]) == ["2025-01", "2025-04"]
    with pytest.raises(ValueError, match="not a month"):
        partition_requests([], ["2025-13"])


def test_registering_keeps_the_instance_in_calendar_order():
    instance = dg.DagsterInstance.ephemeral()
    assert register_months(instance, ["2025-03", "2025-04"]) == ["2025-03", "2025-04"]
    assert register_months(instance, ["2025-01", "2025-04", "2025-05"]) == ["2025-01", "2025-05"]
    assert registered_months(instance) == ["2025-01", "2025-03", "2025-04", "2025-05"]
    assert register_months(instance, ["2025-05"]) == []


@pytest.fixture
def schedule_tick(monkeypatch, tmp_path) -> Iterator:
    """Evaluate the monthly schedule at a given time against department tables holding ``held``."""
    from trust_assets.definitions import defs

    monkeypatch.setenv("TRUST_HOME", str(tmp_path / "home"))
    repository = defs().get_repository_def()
    schedule = repository.get_schedule_def("monthly_products_schedule")

    with dg.instance_for_test() as instance:  # a schedule's context needs a persistent instance
        def tick(when: dt.datetime, held: list[str]):
            monkeypatch.setattr("trust_assets.lib.sources.available.source_months", lambda paths: held)
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                           repository_def=repository, resources={"trust": TrustStorage()}
                                           ) as context:
                return schedule.evaluate_tick(context), registered_months(instance)

        yield tick


def test_schedule_runs_last_month_only_when_the_sources_hold_it(schedule_tick):
    data, months = schedule_tick(dt.datetime(2025, 9, 18, 6, tzinfo=dt.UTC), ["2025-07", "2025-08"])
    [request] = data.run_requests
    assert request.partition_key == "2025-08" and months == ["2025-08"]

    data, months = schedule_tick(dt.datetime(2025, 10, 18, 6, tzinfo=dt.UTC), ["2025-07", "2025-08"])
    assert not data.run_requests and months == ["2025-08"]
    assert data.skip_message == "no source data for 2025-09 yet (the department tables hold 2025-07..2025-08)"
