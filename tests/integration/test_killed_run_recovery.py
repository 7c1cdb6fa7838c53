"""Runs recover by themselves: a run killed at any point never blocks the next, or leaves a mixed release.

Each test starts ``trust run`` as a subprocess on its own copy of the published home (2025-01 released), kills it
(SIGKILL to its process group, as the OOM killer or ``kill -9`` of a session would) at one point, and then runs a
plain ``trust run``. The next run must say what it recovered, finish, and leave one consistent release: the
manifest's latest row names every product's current version, each committed by that release's run. Exact kill
points inside publication use the ``TRUST_FAILPOINT`` pause (lib/publish/releases.py); "during dbt" waits for the
dbt child process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS

#: Two runs per test (the killed one and the next), each up to several minutes on a loaded machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]

TRUST = shutil.which("trust", path=os.path.dirname(sys.executable)) or "trust"
MONTH = "2025-02"
#: Generous bounds for a shared, loaded machine: a tiny one-month run takes 30 s to a few minutes here.
START_TIMEOUT, RUN_TIMEOUT = 600, 1200


def _start(paths: TrustPaths, log: Path, failpoint: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, TRUST_HOME=str(paths.root), DAGSTER_HOME=str(paths.dagster_home))
    env.pop("TRUST_FAILPOINT", None)
    if failpoint:
        env |= {"TRUST_FAILPOINT": failpoint, "TRUST_FAILPOINT_DIR": str(log.parent)}
    return subprocess.Popen([TRUST, "run", "--months", MONTH], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every descendant of ``pid``."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                try:
                    cmd = Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                found.append((kid, cmd))
                frontier.append(kid)
    return found


def _wait_for(condition, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def _in_progress(paths: TrustPaths) -> list[str]:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    with DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                                                      DagsterRunStatus.CANCELING]))
        claimed = instance.event_log_storage.get_concurrency_info("duckdb_warehouse").claimed_slots
        return [r.run_id for r in runs] + [f"slot:{c.run_id}" for c in claimed]


def _assert_one_consistent_release(paths: TrustPaths) -> None:
    from deltalake import DeltaTable

    from trust_assets.lib.publish.releases import interrupted_release, latest_release

    release = latest_release(paths)
    assert release is not None and MONTH in release.months
    for p in PRODUCTS:
        table = DeltaTable(str(paths.published_product(p.name)))
        assert release.products[p.name] == table.version(), p.name
        assert table.history(limit=1)[0]["trust.run_id"] == release.run_id, p.name
    assert interrupted_release(paths, [p.name for p in PRODUCTS]) is None


def _next_run(paths: TrustPaths, tmp_path: Path) -> tuple[str, float]:
    log = tmp_path / "next.log"
    started = time.monotonic()
    proc = _start(paths, log)
    try:
        proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill(proc)
        pytest.fail(f"the next run did not finish in {RUN_TIMEOUT} s:\n{log.read_text()[-3000:]}")
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    return output, time.monotonic() - started


def test_killed_during_dbt_the_next_run_marks_it_failed_frees_the_slot_and_publishes(published_home, tmp_path):
    paths = published_home
    before = {p.name: _head(paths, p.name) for p in PRODUCTS}
    log = tmp_path / "killed.log"
    proc = _start(paths, log)
    _wait_for(lambda: any("dbt" in cmd and "build" in cmd for _, cmd in _children(proc.pid)), proc, log, "dbt build")
    time.sleep(1)
    _kill(proc)
    assert {p.name: _head(paths, p.name) for p in PRODUCTS} == before
    stuck = _in_progress(paths)
    assert stuck, "the killed run should still look STARTED to Dagster"

    output, seconds = _next_run(paths, tmp_path)

    assert f"[recover] run {stuck[0]} was STARTED but its process" in output and "marked it failed" in output
    assert _in_progress(paths) == []
    _assert_one_consistent_release(paths)
    print(f"next run after a kill during dbt: {seconds:.0f} s")


@pytest.mark.parametrize("failpoint", [f"published-{PRODUCTS[0].name}", "before_manifest"],
                         ids=["between-two-product-commits", "after-commits-before-manifest"])
def test_killed_during_publication_the_next_run_completes_the_release_then_its_own(published_home, tmp_path,
                                                                                  failpoint):
    from trust_assets.lib.publish.releases import interrupted_release, latest_release, released_versions, releases

    paths = published_home
    released_before = latest_release(paths)
    log = tmp_path / "killed.log"
    proc = _start(paths, log, failpoint)
    _wait_for(lambda: (tmp_path / failpoint).exists(), proc, log, f"the failpoint {failpoint}")
    _kill(proc)
    open_release = interrupted_release(paths, [p.name for p in PRODUCTS])
    assert open_release is not None and PRODUCTS[0].name in open_release.committed
    # readers still see the last complete release: the partial one is not served
    assert latest_release(paths).run_id == released_before.run_id
    assert released_versions(paths, PRODUCTS[0].name) == [released_before.products[PRODUCTS[0].name]]

    output, seconds = _next_run(paths, tmp_path)

    assert "marked it failed" in output, output
    assert f"completed interrupted release {open_release.run_id}" in output, output
    _assert_recovered_release_lineage(paths, open_release.run_id)
    runs = [r.run_id for r in releases(paths)]
    assert runs[-2] == open_release.run_id and runs[-1] != open_release.run_id
    assert _in_progress(paths) == []
    _assert_one_consistent_release(paths)
    print(f"next run after a kill at {failpoint}: {seconds:.0f} s")


def test_sigterm_stops_the_run_cleanly_and_leaves_nothing_held(published_home, tmp_path):
    paths = published_home
    log = tmp_path / "terminated.log"
    proc = _start(paths, log)
    _wait_for(lambda: any("dbt" in cmd and "build" in cmd for _, cmd in _children(proc.pid)), proc, log, "dbt build")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        _kill(proc)
        pytest.fail(f"trust run ignored SIGTERM:\n{log.read_text()[-3000:]}")
    output = log.read_text()
    assert proc.returncode == 130, output[-3000:]
    assert "stopped by signal" in output and "marked failed" in output, output[-3000:]
    assert _in_progress(paths) == []
    deadline = time.monotonic() + 30  # dbt was told to stop too: it must not outlive the run for long
    while any("dbt" in cmd for _, cmd in _children(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)


def _assert_recovered_release_lineage(paths: TrustPaths, run_id: str) -> None:
    """Recovery writes the OpenLineage COMPLETE of the release it completed: the publish stage, parent = release."""
    from trust_assets.lib.evaluation.lineage.events import _as_uuid
    from trust_assets.lib.evaluation.lineage.reading import read_events
    from trust_assets.lib.evaluation.lineage.stages import PUBLISH_JOB
    from trust_assets.lib.publish.releases import releases

    released = next(r for r in releases(paths) if r.run_id == run_id)
    publishes = [e for e in read_events(paths) if e["eventType"] == "COMPLETE" and e["job"]["name"] == PUBLISH_JOB
                 and e["run"]["facets"]["parent"]["run"]["runId"] == _as_uuid(run_id)]
    assert publishes, f"no COMPLETE publish event for recovered release {run_id}"
    versions = {o["facets"]["symlinks"]["identifiers"][0]["name"]: int(o["facets"]["version"]["datasetVersion"])
                for o in publishes[-1]["outputs"]}
    assert versions == dict(released.products)


def _head(paths: TrustPaths, name: str) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(paths.published_product(name))).version()
