"""The Dagster daemon's sensor ticks turn months that arrive into partitions, with no code-location reload.

``dagster-daemon run`` on the tiny home, as ``trust ui`` starts it, but with a run queue that launches nothing
(``max_concurrent_runs: 0``): the ``new_source_versions`` sensor ticks for real, its partition requests and run
requests land in the instance, and no run starts. Nothing registers the months beforehand: the first tick must.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from _servers import dagster_daemon

from trust_assets.lib.paths import TrustPaths

pytestmark = pytest.mark.integration

TICK_TIMEOUT_S = 180
PAUSED_QUEUE = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 0
telemetry:
  enabled: false
"""


@pytest.fixture
def daemon(tiny_home: TrustPaths, tmp_path: Path) -> Iterator[Path]:
    tiny_home.ensure()
    (tiny_home.dagster_home / "dagster.yaml").write_text(PAUSED_QUEUE)
    with dg.DagsterInstance.from_config(str(tiny_home.dagster_home)) as instance:  # its SQLite files exist first:
        instance.get_runs(limit=1)  # the daemon and its code server would otherwise create them at once (alembic)
    log = tmp_path / "daemon.log"
    with dagster_daemon(tiny_home.root, tiny_home.dagster_home, log):
        yield log


def _wait(what: str, ready: Callable[[], bool], log: Path) -> float:
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > TICK_TIMEOUT_S:
            pytest.fail(f"no {what} after {TICK_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(2)
    return time.monotonic() - started


def test_sensor_ticks_register_the_months_then_a_new_one_without_reload(daemon, tiny_home, tiny_months):
    from _corpus import append_next_month
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from trust_assets.defs.partitions import registered_months
    from trust_assets.lib.months import month_range, shift_month

    with dg.DagsterInstance.from_config(str(tiny_home.dagster_home)) as instance:
        def queued() -> dict[str, str]:
            """month -> status of the sensor's runs (one partition, or a contiguous range in one run)."""
            runs = instance.get_runs(dg.RunsFilter(tags={"trust/trigger": "new_source_versions"}))
            return {month: r.status.value for r in runs for month in (
                [r.tags["dagster/partition"]] if "dagster/partition" in r.tags else
                month_range(r.tags[ASSET_PARTITION_RANGE_START_TAG], r.tags[ASSET_PARTITION_RANGE_END_TAG]))}

        first = _wait("first tick", lambda: registered_months(instance) == tiny_months and queued() == dict.fromkeys(
            tiny_months, "QUEUED"), daemon)  # the run is created, then queued; the paused queue launches nothing

        new = shift_month(tiny_months[-1], 1)
        append_next_month(tiny_home.root, new)
        later = _wait(f"partition {new}", lambda: registered_months(instance) == [*tiny_months, new], daemon)
        _wait(f"queued run of {new}", lambda: queued().get(new) == "QUEUED", daemon)
        assert set(queued().values()) == {"QUEUED"}, queued()
        print(f"months registered {first:.0f} s after the daemon started; {new} {later:.0f} s after it arrived")
