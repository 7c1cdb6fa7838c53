"""The benchmark suite behind ``trust bench``: time one month of the pipeline against the floor and the batch-copy peer.

See docs/benchmarks.md for the method and the targets. Every measurement is a fresh subprocess
(``trust_assets.bench.worker``) run against a bench home of its own, so the user's TRUST_HOME is never touched
beyond its ``bench/`` folder.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _worker(kind: str, arg: str) -> list[str]:
    return [sys.executable, "-m", "trust_assets.bench.worker", kind, arg]


class Bench:
    """One bench invocation: where homes are, how many runs, and what was measured so far."""

    def __init__(self, runs: int, echo=print, max_rss: int | None = None) -> None:
        self.runs = runs
        self.max_rss = max_rss
        self.echo = echo
        self.loads: list[str] = []
        #: per sample (by id), its steps and dbt nodes, read before ``before`` reset the home for the next run
        self._read_early: dict[int, tuple[list[dict[str, float]], list[dict[str, float]]]] = {}

    def measure(self, label: str, home: Path, kind: str, arg: str, before=None, env: dict[str, str] | None = None):
        """``runs`` samples of one worker; ``before`` runs (untimed) ahead of each sample; ``env`` adds variables
        (the engine setting) to the worker's environment."""
        from trust_assets.bench.data import bench_env
        from trust_assets.bench.measure import Summary, run_checked
        from trust_assets.bench.report import gib, load_average

        samples = []
        load_before = load_average()
        for index in range(self.runs):
            if before is not None:
                before()
            sample = run_checked(_worker(kind, arg), {**bench_env(home), **(env or {})}, max_rss=self.max_rss,
                                 disk=self.disk_guard(home))
            stopped = " (stopped: over the memory limit)" if sample.over_memory else ""
            self.echo(f"[bench] {label} run {index + 1}/{self.runs}: {sample.wall_s:.1f} s, "
                      f"peak {gib(sample.peak_rss)} GiB{stopped} (load {load_average()})")
            samples.append(sample)
            if before is not None and index + 1 < self.runs:  # the next run's reset removes this run's records
                self._read_early[id(sample)] = self._read_breakdown(home, [sample])
            if sample.over_memory:  # it will not fit next time either
                break
        self.loads.append(f"{label} {load_before} -> {load_average()}")
        return Summary.of(samples), samples

    @staticmethod
    def disk_guard(home: Path) -> tuple[str, int]:
        """Stop a run that leaves less than 10% of the disk (at least 5 GiB) free: DuckDB spills beside its database."""
        return str(home), max(5 << 30, shutil.disk_usage(home).total // 10)

    def steps(self, home: Path, samples) -> list[dict[str, float]]:
        return self.breakdown(home, samples)[0]

    def breakdown(self, home: Path, samples) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """Per run of ``samples``: seconds per Dagster step, and seconds per dbt node (run_results.json). A run
        whose home was reset after it (``measure(before=...)``) was read before the reset."""
        steps: list[dict[str, float]] = []
        nodes: list[dict[str, float]] = []
        for sample in samples:
            early_steps, early_nodes = self._read_early.get(id(sample)) or self._read_breakdown(home, [sample])
            steps += early_steps
            nodes += early_nodes
        return steps, nodes

    @staticmethod
    def _read_breakdown(home: Path, samples) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        from trust_assets.bench.data import bench_env
        from trust_assets.bench.measure import run_checked

        steps, nodes = [], []
        for sample in samples:
            for run_id in sample.result.get("run_ids", []):
                result = run_checked(_worker("steps", run_id), bench_env(home)).result
                steps.append(result["steps"])
                nodes.append(result.get("nodes") or {})
        return steps, nodes

    def warm(self, home: Path, months: list[str], spec) -> None:
        """Build ``months`` once, untimed, a month per run as a monthly schedule would (a multi-month dbt build at
        national scale spills tens of GiB); the marker records how far, so an interrupted bench resumes."""
        from trust_assets.bench.data import bench_env, read_marker, write_marker
        from trust_assets.bench.measure import run_checked

        built = read_marker(home).get("warm_through") or ""
        for month in months:
            if month <= built:
                continue
            self.echo(f"[bench] building {month} once, untimed")
            run_checked(_worker("pipeline", month), bench_env(home), disk=self.disk_guard(home))
            write_marker(home, spec, warm_through=month)


def source_sizes(home: Path) -> str:
    from trust_assets.bench.floor import SOURCES
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.sources.delta_pins import pin

    paths = TrustPaths(home)
    parts = []
    for table in SOURCES.values():
        p = pin(table, str(paths.source_table(table.dept, table.table)))
        parts.append(f"{table.key} {p.row_count:,} rows / {p.size_bytes / (1 << 20):,.0f} MiB")
    return "; ".join(parts)


def memory_setting() -> str:
    """The TRUST_MEMORY_LIMIT the pipeline runs under (its subprocesses inherit it), in the report's words."""
    from trust_assets.lib.memory import MEMORY_ENV, memory_budget

    budget = memory_budget()
    return budget.describe() if budget else f"{MEMORY_ENV} unset (the profile's defaults: memory_limit 16GB)"


def spark_bench(bench: Bench, home: Path, month: str, spark_remote: str, spark_label: str = "") -> tuple[list, str]:
    """The same month through the Spark engine (``trust run --engine spark``): rows and where its time goes.

    The first timed run creates the Spark marts (no earlier months on Spark: the DuckDB warm-up does not carry
    over); the later ones extend them, as a monthly run would. A Spark run that fails is reported, not raised: the
    DuckDB rows still stand.
    """
    from trust_assets.bench.measure import MeasureError, failure_reason
    from trust_assets.bench.report import Row, nodes_table, steps_table

    label = spark_label or f"Sail at {spark_remote}"
    env = {"TRUST_ENGINE": "spark", "TRUST_SPARK_REMOTE": spark_remote}
    try:
        summary, samples = bench.measure("pipeline on spark", home, "pipeline", month, env=env)
    except MeasureError as exc:
        failure = failure_reason(exc)
        bench.echo(f"[bench] the pipeline on Spark did not finish: {failure}")
        return [], f"**The pipeline on Spark ({label}) did not finish**: {failure}\n"
    steps, nodes = bench.breakdown(home, samples)
    detail = [f"Pipeline steps on Spark ({label}, Dagster STEP_SUCCESS durations):", "",
              steps_table(steps, summary.wall_s), "", "Slowest dbt nodes on Spark (run_results.json):", "",
              nodes_table(nodes), ""]
    return [Row(f"pipeline on Spark ({label})", summary)], "\n".join(detail)


def month_bench(bench: Bench, home: Path, spec, peer: bool, pipeline_too: bool = True,
                spark_remote: str = "", spark_label: str = "") -> tuple[str, str]:
    """Pipeline, the two floors and peer for the last generated month (and the pipeline on Spark when ``spark_remote``);
    returns (docs section, its key).

    A pipeline that cannot finish (a failed build, a disk filling with DuckDB's spill) is reported as such and the
    floor and the peer are still measured: what did not fit is a result too.
    """
    from trust_assets.bench.data import ensure_data
    from trust_assets.bench.measure import MeasureError, failure_reason
    from trust_assets.bench.report import (
        SHARED_FLOOR_LABEL,
        Row,
        machine,
        machine_lines,
        nodes_table,
        results_table,
        steps_table,
        targets_lines,
    )
    from trust_assets.lib.paths import TrustPaths

    ensure_data(home, spec, echo=bench.echo)
    months = spec.month_labels()
    month = months[-1]
    pipeline, failure = None, "not measured (--no-pipeline)"
    step_runs: list[dict[str, float]] = []
    node_runs: list[dict[str, float]] = []
    try:
        if pipeline_too:
            bench.warm(home, months[:-1], spec)
            pipeline, pipeline_samples = bench.measure("pipeline", home, "pipeline", month)
            step_runs, node_runs = bench.breakdown(home, pipeline_samples)
    except MeasureError as exc:
        failure = failure_reason(exc)
        bench.echo(f"[bench] the pipeline did not finish: {failure}")
        # a killed DuckDB leaves its spill behind; the floor and the peer need that disk
        shutil.rmtree(TrustPaths(home).duckdb_spill, ignore_errors=True)
    floor, _ = bench.measure("floor", home, "floor", month)
    shared, _ = bench.measure("shared floor", home, "floor-shared", month)
    rows = [Row("pipeline (Dagster end to end)", pipeline)] if pipeline else []
    spark_detail = ""
    if spark_remote:
        spark_rows, spark_detail = spark_bench(bench, home, month, spark_remote, spark_label)
        rows += spark_rows
    rows.append(Row("floor (DuckDB, one query per product)", floor))
    rows.append(Row(SHARED_FLOOR_LABEL, shared))
    if peer:
        peer_summary, _ = bench.measure("peer", home, "peer", month)
        rows.append(Row("batch-copy peer (pandas, whole tables)", peer_summary))
    if pipeline:
        detail = ["Pipeline steps (Dagster STEP_SUCCESS durations):", "", steps_table(step_runs, pipeline.wall_s), "",
                  "Slowest dbt nodes (run_results.json):", "", nodes_table(node_runs), "",
                  "Targets:", "", *targets_lines(pipeline, floor, spec.scale, shared)]
    else:
        detail = [f"**The pipeline did not finish**: {failure}. Targets: NOT met."]
    body = "\n".join([
        f"## {spec.scale}: month {month} ({spec.months} generated months, seed {spec.seed})", "",
        f"Sources: {source_sizes(home)}.", "",
        results_table(rows), "", *detail, "", *([spark_detail] if spark_detail else []),
        *machine_lines(machine(), bench.loads),
        f"- memory setting: {memory_setting()}",
    ])
    return body, f"{spec.scale}-spark" if spark_remote else spec.scale


def history_bench(bench: Bench, root: Path, scale: str, seed: int) -> tuple[str, str]:
    """Month 1 on a 1-month table (fresh trust each run) against month 13 on a 13-month table."""
    from trust_assets.bench.data import DataSpec, ensure_data, reset_pipeline_state
    from trust_assets.bench.report import (
        TARGET_HISTORY_RATIO,
        Row,
        machine,
        machine_lines,
        results_table,
        steps_table,
        verdict,
    )

    first_home, added_home = root / f"{scale}-history-1", root / f"{scale}-history-13"
    first_spec, added_spec = DataSpec(scale, 1, seed), DataSpec(scale, 13, seed)
    ensure_data(first_home, first_spec, echo=bench.echo)
    ensure_data(added_home, added_spec, echo=bench.echo)
    first_month, *_ = first_spec.month_labels()
    months = added_spec.month_labels()
    first, first_samples = bench.measure("first month", first_home, "pipeline", first_month,
                                         before=lambda: reset_pipeline_state(first_home))
    bench.warm(added_home, months[:-1], added_spec)
    added, added_samples = bench.measure("month 13", added_home, "pipeline", months[-1])
    ratio = added.wall_s / first.wall_s
    body = "\n".join([
        f"## history ({scale}): month 13 of a 13-month table against month 1 of a 1-month table (seed {seed})", "",
        "The first month runs on a fresh trust each time (no warehouse, no Dagster history); month 13 runs after "
        "months 1-12 were built once, untimed.", "",
        results_table([Row("month 1 of 1 (first month)", first), Row("month 13 of 13 (added month)", added)],
                      floor_label="month 1"), "",
        f"- added month / first month: {ratio:.2f}x (target <= {TARGET_HISTORY_RATIO:g}x): "
        f"{verdict(ratio <= TARGET_HISTORY_RATIO)}", "",
        "Steps, first month:", "", steps_table(bench.steps(first_home, first_samples), first.wall_s), "",
        "Steps, month 13:", "", steps_table(bench.steps(added_home, added_samples), added.wall_s), "",
        *machine_lines(machine(), bench.loads),
    ])
    return body, f"history-{scale}"
