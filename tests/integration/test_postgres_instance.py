"""The production Dagster instance: with TRUST_DAGSTER_POSTGRES_URL set, runs, events and sensor state go to Postgres.

PostgreSQL is Debian's, started by the project (scripts/services.sh start postgres) for the session. One month runs
through ``trust run``'s code path, a sensor tick is evaluated against the instance, and the UI's GraphQL API
launches a run, which the QueuedRunCoordinator stores as queued for the daemon; a real ``dagster-daemon run`` then
dequeues it from Postgres and the run succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from _servers import dagster_daemon, free_port, stop_process_group

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres_home(tiny_home: TrustPaths, postgres_url: str, monkeypatch) -> TrustPaths:
    monkeypatch.setenv("TRUST_DAGSTER_POSTGRES_URL", postgres_url)
    return tiny_home


def test_a_bad_postgres_url_is_named(trust_home, monkeypatch):
    from click.testing import CliRunner

    from trust_assets.cli import main

    monkeypatch.setenv("TRUST_DAGSTER_POSTGRES_URL", "mysql://u:p@127.0.0.1/dagster")
    result = CliRunner().invoke(main, ["run", "--months", "2025-01"])
    assert result.exit_code == 2 and "TRUST_DAGSTER_POSTGRES_URL must be postgresql://" in result.output


@pytest.mark.timeout(1800)
def test_month_sensor_tick_and_ui_launch_on_postgres(postgres_home: TrustPaths, tiny_months):
    import dagster as dg
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from trust_assets.definitions import defs
    from trust_assets.defs.partitions import register_months
    from trust_assets.runs.execute import run_months
    from trust_assets.runs.instance import prepare_instance

    instance = prepare_instance(postgres_home)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert instance.run_monitoring_enabled
    secret = os.environ["TRUST_DAGSTER_POSTGRES_URL"].split("://")[1].split("@")[0]
    assert secret not in (postgres_home.dagster_home / "dagster.yaml").read_text(), "the password stays in the env"

    # a month, the way `trust run` runs it
    [outcome] = run_months(postgres_home, [tiny_months[0]], echo=lambda *_: None)
    assert outcome.success, outcome.message
    assert instance.get_run_by_id(outcome.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert not list(postgres_home.dagster_home.glob("**/*.db")), "nothing went to SQLite"

    # a sensor tick, as the daemon evaluates it, against the same instance
    definitions = defs()
    sensor = definitions.resolve_sensor_def("new_source_versions")
    from trust_assets.defs.resources import TrustStorage

    context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(),
                                      repository_def=definitions.get_repository_def(),
                                      resources={"trust": TrustStorage()})
    tick = sensor.evaluate_tick(context)
    # every month but the one just published: the sensor compares with the latest release's pins (issue 10)
    # (one run for the contiguous months, as `trust run` builds them)
    [request] = tick.run_requests
    assert (request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]) == \
        (tiny_months[1], tiny_months[-1])
    # the months `trust run` did not register become partitions, as the daemon applies the tick's requests
    assert [list(r.partition_keys) for r in tick.dynamic_partitions_requests] == [tiny_months[1:]]
    register_months(instance, tiny_months[1:])

    # the UI's GraphQL launch: queued in Postgres for the daemon
    run_id = _launch_from_ui(postgres_home, tiny_months[1])
    queued = instance.get_run_by_id(run_id)
    assert queued is not None and queued.status == dg.DagsterRunStatus.QUEUED
    assert queued.tags.get("dagster/partition") == tiny_months[1]

    # the daemon's QueuedRunCoordinator dequeues it from Postgres and launches it; it runs to the end
    status = _daemon_runs(postgres_home, instance, run_id)
    assert status == dg.DagsterRunStatus.SUCCESS, status
    instance.dispose()


#: Bounded waits for the daemon: to dequeue (its loop runs every few seconds) and for the tiny month to finish.
DEQUEUE_TIMEOUT_S, RUN_TIMEOUT_S = 180, 900


def _daemon_runs(paths: TrustPaths, instance, run_id: str):
    """Start ``dagster-daemon run`` on the Postgres instance, wait until it has dequeued ``run_id`` and the run has
    finished (bounded), stop the daemon; returns the run's final status."""
    import dagster as dg

    log = paths.root / "daemon.log"
    with dagster_daemon(paths.root, paths.dagster_home, log) as process:  # stops the daemon, its code server and
        started = time.monotonic()                                          # the run it launched
        dequeued = False
        while True:
            status = instance.get_run_by_id(run_id).status
            dequeued = dequeued or status != dg.DagsterRunStatus.QUEUED
            if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                return status
            waited = time.monotonic() - started
            if (not dequeued and waited > DEQUEUE_TIMEOUT_S) or waited > RUN_TIMEOUT_S:
                pytest.fail(f"run {run_id} {status.value} after {waited:.0f} s with the daemon running:\n"
                            f"{log.read_text(errors='replace')[-4000:]}")
            assert process.poll() is None, log.read_text(errors="replace")[-4000:]
            time.sleep(2)


LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
  }
}
"""


def _launch_from_ui(paths: TrustPaths, month: str) -> str:
    port = free_port()
    log = paths.root / "webserver.log"
    env = {**os.environ, "TRUST_HOME": str(paths.root), "DAGSTER_HOME": str(paths.dagster_home)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(PROJECT_ROOT / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        params = {"selector": {"repositoryLocationName": "trust_assets", "repositoryName": "__repository__",
                               "jobName": "monthly_products"},
                  "runConfigData": {},
                  "executionMetadata": {"tags": [{"key": "dagster/partition", "value": month}]}}
        for _ in range(60):  # the code location may still be loading
            body = httpx.post(url, json={"query": LAUNCH_RUN, "variables": {"executionParams": params}},
                              timeout=60).json()
            launched = body["data"]["launchRun"]
            if launched["__typename"] == "LaunchRunSuccess":
                return launched["run"]["runId"]
            time.sleep(2)
        pytest.fail(f"launchRun did not succeed: {launched}\n{log.read_text()[-3000:]}")
    finally:  # the webserver and its code server share a process group
        stop_process_group(process)
