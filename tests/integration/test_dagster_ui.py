"""The Dagster UI's own API over the real code location: the graph a data engineer sees, and a month launched from it.

Starts ``dagster-webserver -w workspace.yaml`` on loopback (as ``trust ui`` does, minus the daemon) and talks to it
through ``POST /graphql``, the API the UI's pages call; the asset graph and a product's page are also opened in
headless Chromium (tests/integration/_browser.py) with the network beyond the loopback cut off.

Run coordinator: this instance uses ``DefaultRunCoordinator``, so a launched run starts at once in a subprocess of
the webserver. The trust's own instance queues runs for the daemon, but starting ``dagster-daemon`` here would also
start the ``new_source_versions`` sensor (default status RUNNING), which would request a run for every month of the
home alongside the one under test. Without a daemon the test runs exactly the run it launched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import free_port, stop_process_group
from deltalake import DeltaTable

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES
from trust_assets.lib.run_lock import holder, home_lock

pytestmark = pytest.mark.integration

LOCATION = "trust_assets"
JOB = "monthly_products"
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 180
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

QUEUED = "class: QueuedRunCoordinator\n  config:\n    dequeue_interval_seconds: 1"

ASSETS_QUERY = """
query TrustAssets {
  assetNodes {
    assetKey { path }
    groupName
    kinds
    isObservable
    isPartitioned
    jobNames
    dependencyKeys { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""

REPOSITORIES_QUERY = """
query Repositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status tags { key value } }
    ... on Error { message }
  }
}
"""


@dataclass(frozen=True)
class Webserver:
    url: str
    paths: TrustPaths
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              timeout=60)
        assert response.status_code == 200, f"/graphql answered {response.status_code}: {response.text[:2000]}\n" \
            f"webserver log:\n{self.log_tail()}"
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _stop(process: subprocess.Popen) -> None:
    """Stop the webserver and everything it started (code server, run workers): they share its process group."""
    stop_process_group(process, timeout=20)


@pytest.fixture
def webserver(tiny_home: TrustPaths, tmp_path: Path) -> Iterator[Webserver]:
    from dagster import DagsterInstance

    from trust_assets.runs.instance import DAGSTER_YAML, WRITTEN_BY_TRUST
    from trust_assets.runs.ui import register_held_months

    tiny_home.ensure()
    # the trust's settings with runs launched by the webserver itself (no daemon here), not written by the trust
    assert QUEUED in DAGSTER_YAML
    config = DAGSTER_YAML.replace(QUEUED, "class: DefaultRunCoordinator").replace(WRITTEN_BY_TRUST, "# UI test")
    (tiny_home.dagster_home / "dagster.yaml").write_text(config)
    with DagsterInstance.from_config(str(tiny_home.dagster_home)) as instance:
        register_held_months(tiny_home, instance)  # as `trust ui` does before it starts the webserver
    port = free_port()
    log = tmp_path / "webserver.log"
    executable = Path(sys.executable).parent / "dagster-webserver"
    env = {**os.environ, "TRUST_HOME": str(tiny_home.root), "DAGSTER_HOME": str(tiny_home.dagster_home),
           "DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Webserver(f"http://127.0.0.1:{port}", tiny_home, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer /server_info in {START_TIMEOUT_S} s:\n"
                            f"{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(process)


def _repository(server: Webserver) -> dict[str, Any]:
    """The code location's repository, once the webserver has loaded it."""
    result = server.graphql(REPOSITORIES_QUERY)["repositoriesOrError"]
    assert result["__typename"] == "RepositoryConnection", result
    [repository] = [r for r in result["nodes"] if r["location"]["name"] == LOCATION]
    return repository


def _launch_month(server: Webserver, repository: str, month: str) -> str:
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": repository, "jobName": JOB},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": month},
                                       {"key": "trust/trigger", "value": "integration-test"}]},
    }
    launched = server.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _wait_for_run(server: Webserver, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = server.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        if run["status"] in TERMINAL:
            return run["status"]
        if time.monotonic() > deadline:
            hint = " (QUEUED: the instance's run coordinator waits for a daemon)" if run["status"] == "QUEUED" else ""
            pytest.fail(f"run {run_id} still {run['status']}{hint} after {RUN_TIMEOUT_S} s:\n{server.log_tail()}")
        time.sleep(2)


def _run_messages(paths: TrustPaths, run_id: str) -> list[str]:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        return [record.user_message or "" for record in instance.all_logs(run_id)]


def _step_starts(paths: TrustPaths, run_id: str) -> int:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        return len(instance.all_logs(run_id, of_type=DagsterEventType.STEP_START))


def _wait_for_log(server: Webserver, run_id: str, text: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not any(text in m for m in _run_messages(server.paths, run_id)):
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} never logged {text!r}:\n{server.log_tail()}")
        time.sleep(1)


def _failure(paths: TrustPaths, run_id: str) -> str:
    from dagster import DagsterInstance

    from trust_assets.runs.execute import failure_message

    with DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        return failure_message(instance, run_id)


def test_ui_lists_the_trust_graph_and_publishes_a_month_it_launched(webserver, tiny_months):
    repository = _repository(webserver)
    assert JOB in {j["name"] for j in repository["jobs"]}

    nodes = {"/".join(n["assetKey"]["path"]): n for n in webserver.graphql(ASSETS_QUERY)["assetNodes"]}

    def checks(key: str) -> dict[str, bool]:
        result = nodes[key]["assetChecksOrError"]
        assert result["__typename"] == "AssetChecks", result
        return {c["name"]: c["blocking"] for c in result["checks"]}

    for table in SOURCE_TABLES:
        assert nodes[table.key]["isObservable"], table.key
        assert {"path": table.key.split("/")} in nodes["trust/pinned_sources"]["dependencyKeys"]
    pinned = checks("trust/pinned_sources")
    assert set(pinned) == {f"{t.key.replace('/', '__')}__{kind}" for t in SOURCE_TABLES
                           for kind in ("schema", "volume")} | {
        "dwp__uc_claims__retractions", "hmrc__paye_employments__retractions"}
    assert all(pinned.values()), "every source check must block the run"
    for product in PRODUCTS:
        mart, candidate, published = (f"warehouse/{product.name}", f"candidates/{product.name}",
                                      f"published/{product.name}")
        assert nodes[mart]["isPartitioned"] and JOB in nodes[mart]["jobNames"]
        assert checks(candidate) == {"expectations": True, "disclosure_compliance": True, "differencing": True,
                                     "plausibility": True, "retractions": True}
        assert nodes[published]["dependencyKeys"] == [{"path": candidate.split("/")}]
        assert "delta" in nodes[published]["kinds"]

    month = tiny_months[0]
    # A UI run and a `trust run` coordinate through the home's run lock (lib/run_lock.py): while another run holds
    # it (here this test, as `trust run` would), the UI's run waits before its first step and says for whom.
    with home_lock(webserver.paths, "trust run (held by the test)"):
        run_id = _launch_month(webserver, repository["name"], month)
        _wait_for_log(webserver, run_id, "another run is using")
        assert _step_starts(webserver.paths, run_id) == 0, "the UI run started a step while the lock was held"
    started = time.monotonic()
    status = _wait_for_run(webserver, run_id)
    elapsed = time.monotonic() - started
    assert status == "SUCCESS", _failure(webserver.paths, run_id)
    assert holder(webserver.paths).startswith(f"Dagster run {run_id}"), holder(webserver.paths)
    print(f"UI-launched run of {month} took {elapsed:.0f} s after the lock was released")

    for product in PRODUCTS:
        table = DeltaTable(str(webserver.paths.published_product(product.name)))
        history = table.history(limit=1)[0]
        assert run_id in str(history), f"{product.name}: the last commit does not name run {run_id}: {history}"
        assert table.to_pyarrow_dataset().count_rows() > 0, product.name


CHECKS_QUERY = """
query TrustChecks {
  assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name canExecuteIndividually } } }
  }
}
"""

LAUNCH_SUBSET = """
mutation LaunchSubset($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on InvalidSubsetError { message }
    ... on PythonError { message }
    ... on Error { message }
  }
}
"""

RUNS_QUERY = """
query Runs { runsOrError { __typename ... on Runs { results { runId } } } }
"""


def test_ui_offers_no_single_check_or_partial_stage_that_cannot_work(webserver):
    """Issue 10 item 6: every check runs only with its asset's whole step (the UI shows no "Execute" button for
    it), and a launch of part of a stage (one mart, one published product) is refused before any run starts."""
    repository = _repository(webserver)["name"]
    nodes = webserver.graphql(CHECKS_QUERY)["assetNodes"]
    individually = {("/".join(n["assetKey"]["path"]), c["name"]): c["canExecuteIndividually"]
                    for n in nodes for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    dbt_checks = [k for k in individually if k[0].startswith("warehouse/stg_")]
    assert dbt_checks and any(k[0].startswith("candidates/") for k in individually)
    assert {k: v for k, v in individually.items() if v != "REQUIRES_MATERIALIZATION"} == {}

    for key in (["warehouse", "local_labour_market_monthly"], ["published", PRODUCTS[0].name],
                ["warehouse", "int_employments_screened"]):
        params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": repository, "jobName": JOB,
                               "assetSelection": [{"path": key}], "assetCheckSelection": []},
                  "runConfigData": {},
                  "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2025-01"}]}}
        launched = webserver.graphql(LAUNCH_SUBSET, {"executionParams": params})["launchRun"]
        assert launched["__typename"] != "LaunchRunSuccess", f"{key}: a partial stage was launched: {launched}"
        assert "subset" in launched["message"].lower(), launched
    runs = webserver.graphql(RUNS_QUERY)["runsOrError"]
    assert runs["results"] == [], "a refused launch must not leave a run behind"


@pytest.mark.browser
def test_ui_pages_render_in_chromium(webserver, tmp_path):
    """What a data engineer opens, rendered by headless Chromium with no network beyond the loopback: the global
    asset graph (every group, reference among them) and a published product's page (its description and the column
    table with the dbt descriptions); a screenshot of each is kept beside the test's files."""
    from _browser import OFFLINE_FLAGS, chromium, page_text, run_chromium

    from trust_assets.lib.registry.products import product

    browser = chromium()
    name = PRODUCTS[0].name
    pages = {"asset-graph": "asset-groups", "product": f"assets/published/{name}"}
    texts = {}
    for label, route in pages.items():
        url = f"{webserver.url}/{route}"
        args = (*OFFLINE_FLAGS, "--virtual-time-budget=20000", "--window-size=1400,1000")
        dom = run_chromium(browser, tmp_path / f"profile-{label}", *args, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        texts[label] = page_text(dom.stdout)
        shot = tmp_path / f"{label}.png"
        taken = run_chromium(browser, tmp_path / f"profile-{label}-shot", *args, f"--screenshot={shot}", url)
        assert taken.returncode == 0 and shot.stat().st_size > 20_000, taken.stderr[-2000:]  # blank: a few KB
    graph = texts["asset-graph"]
    assert "Global asset lineage" in graph, graph[:500]
    for group in ("sources", "staging", "intermediate", "marts", "audit", "published", "reference"):
        assert f" {group} " in f" {graph} ", (group, graph[:800])
    page = texts["product"]
    assert product(name).description.split(".")[0] in page, page[:800]
    assert "Columns" in page and "First day of the month." in page, page[:1500]


PARTITIONS_QUERY = """
query MonthlyPartitions($selector: RepositorySelector!) {
  assetNodes { assetKey { path } isPartitioned partitionKeysByDimension { partitionKeys } }
  partitionSetsOrError(repositorySelector: $selector, pipelineName: "monthly_products") {
    __typename
    ... on PartitionSets { results { partitionsOrError { ... on Partitions { results { name } } } } }
    ... on PythonError { message }
  }
}
"""

SENSOR_DRY_RUN = """
mutation DryRun($selector: SensorSelector!, $cursor: String) {
  sensorDryRun(selectorData: $selector, cursor: $cursor) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult {
        runRequests { runKey }
        dynamicPartitionsRequests { partitionKeys partitionsDefName type }
        skipReason
        error { message }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _offered_months(server: Webserver, repository: str) -> dict[str, list[str]]:
    """The partition keys the UI offers (what the backfill dialog selects by default): per partitioned asset, and
    for the job (its partition set)."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": repository}
    data = server.graphql(PARTITIONS_QUERY, {"selector": selector})
    offered = {"/".join(n["assetKey"]["path"]): n["partitionKeysByDimension"][0]["partitionKeys"]
               for n in data["assetNodes"] if n["isPartitioned"]}
    sets = data["partitionSetsOrError"]
    assert sets["__typename"] == "PartitionSets", sets
    [partition_set] = sets["results"]
    offered[f"job {JOB}"] = [p["name"] for p in partition_set["partitionsOrError"]["results"]]
    return offered


def test_ui_offers_exactly_the_months_with_source_data_and_a_new_month_without_reload(webserver, tiny_months):
    """Issue 10 item 6: the backfill dialog's defaults (every partition the UI offers) fall on months that have
    data, from the first to the last month every monthly source holds; a month a department delivers later is
    added by the sensor's tick, and the running webserver offers it with no code-location reload."""
    import json

    from _corpus import append_next_month
    from dagster import DagsterInstance

    from trust_assets.lib.months import shift_month
    from trust_assets.lib.sources.delta_pins import latest_version

    repository = _repository(webserver)["name"]
    offered = _offered_months(webserver, repository)
    assert len(offered) > 10 and "published/local_labour_market_monthly" in offered  # the probe saw the assets
    assert {key: keys for key, keys in offered.items() if keys != tiny_months} == {}, tiny_months

    # a month with no data, launched through the API by hand (the UI never offers it): the run stops in its first
    # step, naming the month and the months there are, before any source is read, dbt or any publication
    empty = shift_month(tiny_months[0], -1)
    params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": repository, "jobName": JOB},
              "runConfigData": {}, "executionMetadata": {"tags": [{"key": "dagster/partition", "value": empty}]}}
    launched = webserver.graphql(LAUNCH_SUBSET, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert _wait_for_run(webserver, run_id) == "FAILURE"
    failure = _failure(webserver.paths, run_id)
    assert f"{empty} is not a month the department tables hold (the monthly partitions are " \
        f"{tiny_months[0]}..{tiny_months[-1]}" in failure and "pinned_sources" in failure, failure
    assert _step_starts(webserver.paths, run_id) == 1, failure  # pinned_sources alone: no dbt, no publication

    versions = {t.key: latest_version(str(webserver.paths.source_table(t.dept, t.table))) for t in SOURCE_TABLES}
    new = shift_month(tiny_months[-1], 1)
    append_next_month(webserver.paths.root, new)
    assert _offered_months(webserver, repository)[f"job {JOB}"] == tiny_months, "offered before anyone saw it"

    # the sensor's tick, evaluated by the running code location (a dry run: what the daemon would do)
    sensor = {"repositoryLocationName": LOCATION, "repositoryName": repository, "sensorName": "new_source_versions"}
    tick = webserver.graphql(SENSOR_DRY_RUN, {"selector": sensor, "cursor": json.dumps(versions)})["sensorDryRun"]
    assert tick["__typename"] == "DryRunInstigationTick", tick
    result = tick["evaluationResult"]
    assert result["error"] is None, result["error"]
    assert result["dynamicPartitionsRequests"] == [
        {"partitionKeys": [new], "partitionsDefName": "months", "type": "ADD_PARTITIONS"}]
    requested = {r["runKey"].split(":")[0] for r in result["runRequests"]}
    assert requested == {new, shift_month(new, -3), shift_month(new, -6)}  # the month and the cohorts it follows up

    # the daemon applies the tick's partition requests to the instance; the webserver reads them from there
    with DagsterInstance.from_config(str(webserver.paths.dagster_home)) as instance:
        for request in result["dynamicPartitionsRequests"]:
            instance.add_dynamic_partitions(request["partitionsDefName"], request["partitionKeys"])
    offered = _offered_months(webserver, repository)
    assert {key: keys for key, keys in offered.items() if keys != [*tiny_months, new]} == {}
