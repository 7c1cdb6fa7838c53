"""trust bench --latency: withholding a generated month's Delta commits and committing them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trust_assets.bench.latency import Latency, commit, latency_section, withhold
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import SOURCE_TABLES


def _log(paths: TrustPaths, key: str, version: int, month: str) -> None:
    dept, table = key.split("/")
    folder = Path(paths.source_table(dept, table)) / "_delta_log"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{version:020d}.json").write_text(
        json.dumps({"commitInfo": {"operation": "WRITE", "trust.synth.month": month}}) + "\n"
        + json.dumps({"add": {"path": f"part-{version}.parquet"}}) + "\n")


def test_withhold_moves_only_the_months_commits_and_commit_puts_them_back(tmp_path):
    paths = TrustPaths(tmp_path)
    for table in SOURCE_TABLES:
        _log(paths, table.key, 0, "2025-01")
        _log(paths, table.key, 1, "2025-02")
    pending = withhold(paths, "2025-02")
    assert len(pending) == len(SOURCE_TABLES)
    for table in SOURCE_TABLES:
        logs = sorted(p.name for p in (Path(paths.source_table(table.dept, table.table)) / "_delta_log").iterdir())
        assert logs == [f"{0:020d}.json"]
    assert withhold(paths, "2025-02") == pending  # idempotent: already withheld
    landed = commit(pending)
    assert set(landed) == {t.key for t in SOURCE_TABLES}
    for table in SOURCE_TABLES:
        assert len(list((Path(paths.source_table(table.dept, table.table)) / "_delta_log").iterdir())) == 2


def test_latency_section_reports_each_span_and_the_target():
    result = Latency("2025-03", {"hmrc/paye_employments": 100.0, "dwp/uc_claims": 101.0}, 161.0, 163.5, "abc")
    assert result.figures() == {"first commit to release": 61.0, "last commit to release": 60.0,
                                "last commit to first read": 62.5}
    info = {"date": "d", "cpu": "c", "memory": "m", "python": "p", "packages": "x"}
    text = latency_section([result], "tiny", [40.0], ["latency 1 -> 2"], info)
    assert "| last commit to release | 60.0 s | 60.0 |" in text
    assert "70.0 s, met" in text
    assert "| of which: run started to release | - | - |" in text  # no run times recorded: said, not invented

    slower = Latency("2025-03", {"dwp/uc_claims": 100.0}, 190.0, None, "def")
    faster = Latency("2025-03", {"dwp/uc_claims": 100.0}, 150.0, 151.0, "ghi")
    text = latency_section([result, slower, faster], "tiny", [40.0, 45.0, None], [], info)
    assert "| last commit to release | 60.0 s | 60.0, 90.0, 50.0 |" in text  # the median, then each run
    assert "| last commit to first read | 56.8 s | 62.5, -, 51.0 |" in text  # the median of the runs that read
    assert "sensor run def, 45.0 s wall; target one sensor interval (30 s) plus the run time: 75.0 s, NOT met" in text
    assert "sensor run ghi, - wall; target one sensor interval (30 s) plus the run time: -, -" in text

    timed = Latency("2025-03", {"dwp/uc_claims": 101.0}, 161.0, None, "abc", requested=125.0, started=132.5)
    assert timed.breakdown() == {"last commit to the sensor's run request": 24.0,
                                 "run requested to started (queue, launch)": 7.5, "run started to release": 28.5}


def test_the_commit_waits_for_the_sensors_first_finished_tick(tmp_path):
    import subprocess
    import sys

    from trust_assets.bench.latency import FIRST_TICK_DONE, _wait_for_first_tick

    log = tmp_path / "daemon.log"
    line = f"2026-12-04 19:38:04 +0000 - dagster.daemon.SensorDaemon - INFO - {FIRST_TICK_DONE}: no new versions"
    writer = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(0.5); open({str(log)!r}, 'w').write("
                               f"{line!r}); time.sleep(30)"])
    try:
        _wait_for_first_tick(log, writer, timeout_s=20)
        assert FIRST_TICK_DONE in log.read_text()
    finally:
        writer.kill()
        writer.wait()
    earlier = log.stat().st_size  # an earlier daemon's tick in the same (appended) log does not count
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="did not tick within 1 s"):
            _wait_for_first_tick(log, idle, after=earlier, timeout_s=1)
    finally:
        idle.kill()
        idle.wait()
    stopped = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    stopped.wait()
    log.unlink()
    with pytest.raises(RuntimeError, match="dagster-daemon exited with 3"):
        _wait_for_first_tick(log, stopped, timeout_s=5)
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="did not tick within 1 s"):
            _wait_for_first_tick(log, idle, timeout_s=1)
    finally:
        idle.kill()
        idle.wait()
