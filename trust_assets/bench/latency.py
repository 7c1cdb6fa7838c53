"""``trust bench --latency``: from a department's commit to the published, audited release, and to a first read.

The bench home holds ``months`` generated months. The last month's commits are moved out of the Delta logs
(``latency-pending/``) and the earlier months are built once, untimed. Then the Dagster daemon starts with the
``new_source_versions`` sensor on (its default), the sharing server (``trust serve``) starts, and the withheld
commits are put back one department table at a time, as the departments would commit them (a Delta commit is the
atomic appearance of its log file), just after the sensor's first tick has finished (the daemon's log says so): the
worst phase, in which a commit waits a whole interval for the next tick. Measured from each commit:

- **to release**: the ``released_at`` of the release manifest row (lib/publish/releases.py) whose months include the
  new month: every product committed, audited (the blocking checks passed) and the manifest row written last;
- **to first read**: the first ``/query`` through ``trust serve`` that answers with the released version of
  ``local_labour_market_monthly``, and one of its files fetched by signed URL.

Target: one sensor interval (30 s) plus the run time. Every wait is bounded; the daemon and the server are stopped
(their process groups) whatever happens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths

PENDING = "latency-pending"
READ_PRODUCT = "local_labour_market_monthly"
READER = "analyst-example"  # the recipient of agreements/published-products.yaml
SENSOR_INTERVAL_S = 30  # defs/sources/sensors.py, minimum_interval_seconds


@dataclass(frozen=True)
class Latency:
    month: str
    commits: dict[str, float]  # dept/table -> epoch seconds of its commit
    released: float
    first_read: float | None
    run_id: str
    requested: float | None = None  # the run's creation: the sensor tick that requested it
    started: float | None = None  # the run's start: after the queue and the launch of its process

    def figures(self) -> dict[str, float | None]:
        last = max(self.commits.values())
        return {"first commit to release": self.released - min(self.commits.values()),
                "last commit to release": self.released - last,
                "last commit to first read": None if self.first_read is None else self.first_read - last}

    def breakdown(self) -> dict[str, float | None]:
        """Where the last commit's latency went: waiting for a sensor tick, the queue and launch, the run."""
        last = max(self.commits.values())
        return {"last commit to the sensor's run request": None if self.requested is None else self.requested - last,
                "run requested to started (queue, launch)": None if self.requested is None or self.started is None
                else self.started - self.requested,
                "run started to release": None if self.started is None else self.released - self.started}


def run_times(paths: TrustPaths, run_id: str, timeout_s: float = 180) -> tuple[float | None, float | None]:
    """(created, started) of a run, after waiting (bounded) for it to finish, so the daemon is never stopped
    under a run that is still writing its last events (it would be marked UNEXPECTED_TERMINATION)."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    instance = DagsterInstance.get()
    deadline = time.monotonic() + timeout_s
    record = instance.get_run_record_by_id(run_id)
    while record is not None and not record.dagster_run.is_finished and time.monotonic() < deadline:
        time.sleep(0.5)
        record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None, None
    return record.create_timestamp.timestamp(), record.start_time


#: The daemon's line once a tick of the sensor has finished without a run (dagster.daemon.SensorDaemon).
FIRST_TICK_DONE = "Sensor new_source_versions skipped"


def _wait_for_first_tick(log: Path, daemon: subprocess.Popen, after: int = 0, timeout_s: float = 120) -> None:
    """Return once the daemon's log, past its first ``after`` bytes (earlier daemons'), shows the sensor's first
    finished tick (bounded; the daemon must stay up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited with {daemon.returncode} (log: {log})")
        if log.exists():
            with log.open("rb") as handle:
                handle.seek(after)
                if FIRST_TICK_DONE.encode() in handle.read():
                    return
        time.sleep(0.2)
    raise RuntimeError(f"the sensor new_source_versions did not tick within {timeout_s:.0f} s (log: {log})")


def _commit_month(log: Path) -> str | None:
    with log.open(encoding="utf-8") as handle:
        for line in handle:
            info = json.loads(line).get("commitInfo")
            if info is not None:
                return info.get("trust.synth.month")
    return None


def withhold(paths: TrustPaths, month: str) -> list[tuple[str, Path, Path]]:
    """Move the Delta commits the generator made for ``month`` out of every department table's log.

    Returns (table key, where the commit belongs, where it waits), oldest first per table; idempotent (a commit
    already withheld is found in ``latency-pending/``). Local department folders only.
    """
    from trust_assets.lib.registry.sources import SOURCE_TABLES

    moved = []
    for table in SOURCE_TABLES:
        log_dir = Path(paths.source_table(table.dept, table.table)) / "_delta_log"
        wait_dir = paths.root / PENDING / table.dept / table.table
        wait_dir.mkdir(parents=True, exist_ok=True)
        for log in sorted(log_dir.glob("*.json")):
            if _commit_month(log) == month:
                os.replace(log, wait_dir / log.name)
        moved += [(table.key, log_dir / w.name, w) for w in sorted(wait_dir.glob("*.json"))]
    return moved


def commit(pending: list[tuple[str, Path, Path]]) -> dict[str, float]:
    """Put the withheld commits back, one table after another; returns when each table's last commit landed."""
    landed: dict[str, float] = {}
    for key, target, waiting in pending:
        os.replace(waiting, target)
        landed[key] = time.time()
    return landed


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_seconds(paths: TrustPaths, run_id: str) -> float | None:
    """Wall time of a Dagster run (start to end) from the trust's instance."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    stats = DagsterInstance.get().get_run_stats(run_id)
    if stats.start_time is None or stats.end_time is None:
        return None
    return float(stats.end_time - stats.start_time)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _released(paths: TrustPaths, month: str):
    from trust_assets.lib.publish.releases import releases

    return next((r for r in reversed(releases(paths)) if month in r.months), None)


def _read_once(endpoint: str, token: str, version: int) -> bool:
    """One read as an analyst would: the query answers with the released version and a file is fetched."""
    import httpx

    base = f"{endpoint}/shares/products/schemas/default/tables/{READ_PRODUCT}"
    try:
        response = httpx.post(f"{base}/query", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if response.status_code != 200 or int(response.headers.get("delta-table-version", -1)) < version:
            return False
        urls = [json.loads(line)["file"]["url"] for line in response.text.splitlines()[2:]]
        return bool(urls) and httpx.get(urls[0], timeout=30).status_code == 200
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def measure_latency(paths: TrustPaths, month: str, pending: list[tuple[str, Path, Path]], timeout_s: float,
                    echo=print) -> Latency:
    """Start the daemon and the server, commit the withheld month, wait (bounded) for the release and a read."""
    from trust_assets.runs.instance import prepare_instance
    from trust_assets.sharing.recipients import RecipientError, RecipientStore

    prepare_instance(paths)  # exports TRUST_HOME, DAGSTER_HOME and the DuckDB settings for the daemon's runs
    store = RecipientStore(paths)
    try:
        token = store.create(READER).token
    except RecipientError:
        token = store.rotate(READER).token
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "false"}
    bin_dir = Path(sys.executable).parent
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/delta-sharing"
    logs = paths.root / "latency-logs"
    logs.mkdir(exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped bench still stops the daemon and server
    daemon_log = logs / "daemon.log"
    earlier = daemon_log.stat().st_size if daemon_log.exists() else 0  # the log is appended to, run after run
    daemon = _spawn([str(bin_dir / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")], env,
                    daemon_log)
    server = _spawn([sys.executable, "-c", "from trust_assets.cli.sharing import serve; serve()", "--port", str(port),
                     "--rate-limit", "0"], env, logs / "serve.log")
    try:
        # The commits land just after the sensor's first tick (which sees no new month): the worst phase, where a
        # commit waits a whole interval for the next tick, stated rather than left to how fast the daemon starts.
        _wait_for_first_tick(daemon_log, daemon, after=earlier)
        commits = commit(pending)
        echo(f"[bench] committed {month} to {', '.join(commits)}; waiting for the sensor's run and its release")
        deadline = time.monotonic() + timeout_s
        release = None
        while release is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no release of {month} within {timeout_s:.0f} s (logs in {logs})")
            if daemon.poll() is not None:
                raise RuntimeError(f"dagster-daemon exited with {daemon.returncode} (log: {logs / 'daemon.log'})")
            time.sleep(1)
            release = _released(paths, month)
        released = release.released_at.timestamp()
        echo(f"[bench] released {month} in run {release.run_id} at {release.released_at:%H:%M:%S}")
        version = release.products[READ_PRODUCT]
        first_read = None
        read_deadline = time.monotonic() + 60
        while first_read is None and time.monotonic() < read_deadline:
            if _read_once(endpoint, token, version):
                first_read = time.time()
            else:
                time.sleep(0.2)
        requested, started = run_times(paths, release.run_id)
        return Latency(month, commits, released, first_read, release.run_id, requested, started)
    finally:
        _stop(daemon)
        _stop(server)


def _median(values: list[float | None]) -> float | None:
    import statistics

    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def latency_section(results: list[Latency], scale: str, run_s: list[float | None], loads: list[str],
                    info: dict[str, str]) -> str:
    """The bench's section: the median of each figure over the runs (each run's own value beside it)."""
    from trust_assets.bench.report import machine_lines

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    def row(name: str, values: list[float | None]) -> str:
        return f"| {name} | {show(_median(values))} | {', '.join(show(v).removesuffix(' s') for v in values)} |"

    figures = [r.figures() for r in results]
    breakdowns = [r.breakdown() for r in results]
    rows = ["| measured | median | runs (s) |", "|---|---:|---|"]
    rows += [row(name, [f[name] for f in figures]) for name in figures[0]]
    rows += [row(f"of which: {name}", [b[name] for b in breakdowns]) for name in breakdowns[0]]
    lines = []
    for result, seconds in zip(results, run_s, strict=True):
        target = None if seconds is None else SENSOR_INTERVAL_S + seconds
        got = result.figures()["last commit to release"]
        verdict = "-" if target is None or got is None else ("met" if got <= target else "NOT met")
        commits = ", ".join(f"{k} {dt.datetime.fromtimestamp(v, dt.UTC):%H:%M:%S}" for k, v in result.commits.items())
        lines.append(f"- commits (UTC): {commits}; sensor run {result.run_id}, {show(seconds)} wall; target one "
                     f"sensor interval ({SENSOR_INTERVAL_S} s) plus the run time: {show(target)}, {verdict}")
    return "\n".join([
        f"## latency ({scale}): department commit to published release and first read, month {results[0].month}",
        "",
        "`trust bench --latency`: the Dagster daemon with the new_source_versions sensor on; the month's commits put "
        "back into the department tables' Delta logs just after the sensor's first tick (the worst phase: each waits a "
        "whole interval for the next tick); the release manifest's released_at; the first read through "
        f"`trust serve` of the released version (query and one signed file). {len(results)} run(s), each from the "
        "same built earlier months (the trust's state restored between runs).", "",
        *rows, "",
        *lines, "",
        *machine_lines(info, loads),
    ])


def reset_state(paths: TrustPaths) -> None:
    shutil.rmtree(paths.root / "latency-logs", ignore_errors=True)


def latency_bench(bench, home: Path, spec, timeout_s: float = 1200, runs: int = 1) -> tuple[str, str]:
    """Generate (or reuse) ``spec``, withhold its last month, build the others once, then measure the latency
    ``runs`` times, each from a copy of the trust's state as the earlier months left it."""
    from trust_assets.bench.data import ensure_data, reset_pipeline_state, write_marker
    from trust_assets.bench.report import load_average, machine

    ensure_data(home, spec, echo=bench.echo)
    paths = TrustPaths(home)
    months = spec.month_labels()
    month = months[-1]
    pending = withhold(paths, month)
    if not pending:
        raise RuntimeError(f"no commits of {month} to withhold under {paths.departments}")
    if _released(paths, month) is not None:  # an earlier latency run published it: start from the earlier months
        reset_pipeline_state(home)
        write_marker(home, spec)
    reset_state(paths)
    bench.warm(home, months[:-1], spec)
    baseline = paths.root / "latency-baseline"
    shutil.rmtree(baseline, ignore_errors=True)
    if runs > 1:
        shutil.copytree(paths.trust, baseline, symlinks=True)
    results: list[Latency] = []
    seconds: list[float | None] = []
    try:
        for index in range(runs):
            if index:
                pending = withhold(paths, month)
                shutil.rmtree(paths.trust)
                shutil.copytree(baseline, paths.trust, symlinks=True)
            # a fresh instance: no sensor cursor from an earlier run (the release manifest keeps what is published)
            shutil.rmtree(paths.dagster_home, ignore_errors=True)
            before = load_average()
            result = measure_latency(paths, month, pending, timeout_s, echo=bench.echo)
            bench.loads.append(f"latency run {index + 1} {before} -> {load_average()}")
            results.append(result)
            seconds.append(run_seconds(paths, result.run_id))
            bench.echo(f"[bench] latency run {index + 1}/{runs}: {result.figures()} (sensor run {seconds[-1]} s)")
    finally:
        shutil.rmtree(baseline, ignore_errors=True)
    return latency_section(results, spec.scale, seconds, bench.loads, machine()), f"latency-{spec.scale}"
