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


def test_putting_an_earlier_month_in_place_never_shows_the_later_months_missing(tmp_path):
    """Another process (a run's step of a later month, the UI) reading the partitions while an earlier month is put
    in place sees the keys before or after, never without the later months: a step that found its month missing
    would fail (partition_months, Dagster's partition range)."""
    import threading

    from trust_assets.lib.months import month_range

    later = month_range("2020-02", "2024-12")  # five years of partitions re-added behind 2020-01
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, \
            dg.DagsterInstance.from_ref(instance.get_ref()) as reader:
        register_months(instance, later)
        seen: list[list[str]] = []
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                seen.append(registered_months(reader))

        thread = threading.Thread(target=read)
        thread.start()
        try:
            assert register_months(instance, ["2020-01"]) == ["2020-01"]
        finally:
            done.set()
            thread.join(timeout=30)
        assert registered_months(instance) == ["2020-01", *later]
        assert seen and all(keys in (later, ["2020-01", *later]) for keys in seen), \
            sorted({len(keys) for keys in seen})


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
