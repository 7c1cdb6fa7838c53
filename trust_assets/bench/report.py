"""What the bench prints and writes: the machine, the results table, targets, and docs/benchmarks.md sections.

docs/benchmarks.md is partly hand-written (method, findings). The bench only replaces the blocks between its own
markers (``<!-- bench:KEY -->`` ... ``<!-- /bench:KEY -->``), one per scale and one per history measurement, so a
refresh at one scale keeps the others and the prose.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from trust_assets.bench.measure import Summary
from trust_assets.lib.paths import PROJECT_ROOT

GIB = 1 << 30
DOC_PATH = PROJECT_ROOT / "docs" / "benchmarks.md"
PACKAGES = ("duckdb", "deltalake", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "pandas", "pyarrow")

#: Targets, checked at national scale on 2 cores.
TARGET_RATIO = 1.5
TARGET_WALL_S = 90.0
TARGET_PEAK = 6 * GIB
TARGET_HISTORY_RATIO = 1.2

#: The second reference: one DuckDB script, each source screened once (bench/floor.py, SharedScreens).
SHARED_FLOOR_LABEL = "shared floor (one DuckDB script, each source screened once)"

#: Steps of the monthly Dagster job, in the order they run.
STEPS = ("pinned_sources", "dbt_models", "release_candidates", "published_products")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    import psutil

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu_model()}, {os.cpu_count()} cores",
        "memory": f"{psutil.virtual_memory().total / GIB:.1f} GiB",
        "python": platform.python_version(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def gib(value: int) -> str:
    return f"{value / GIB:.2f}"


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "-"


@dataclass(frozen=True)
class Row:
    label: str
    summary: Summary


def results_table(rows: list[Row], floor_label: str = "floor") -> str:
    """Markdown table: wall time and peak memory (medians), each relative to the floor, and the wall time relative
    to the shared floor when there is one."""
    floor = next((r.summary for r in rows if r.label.startswith(floor_label)), None)
    shared = next((r.summary for r in rows if r.label == SHARED_FLOOR_LABEL), None)
    extra = "wall / shared floor | " if shared else ""
    lines = [f"| measured | wall (s) | peak memory (GiB) | wall / floor | memory / floor | {extra}runs (wall s) |",
             "|---|---:|---:|---:|---:|" + ("---:|" if shared else "") + "---|"]
    for row in rows:
        s = row.summary
        if s.over_memory:
            lines.append(f"| {row.label} | stopped at {s.wall_s:.1f} | > {gib(s.peak_rss)} (memory limit) | - | - | "
                         f"{'- | ' if shared else ''}{', '.join(f'{w:.1f}' for w in s.walls)} |")
            continue
        lines.append(f"| {row.label} | {s.wall_s:.1f} | {gib(s.peak_rss)} | "
                     f"{ratio(s.wall_s, floor.wall_s) if floor else '-'} | "
                     f"{ratio(s.peak_rss, floor.peak_rss) if floor else '-'} | "
                     f"{ratio(s.wall_s, shared.wall_s) + ' | ' if shared else ''}"
                     f"{', '.join(f'{w:.1f}' for w in s.walls)} |")
    return "\n".join(lines)


def steps_table(step_runs: list[dict[str, float]], wall_s: float) -> str:
    """Median seconds per Dagster step; what is left of the wall time is start-up, imports and observation."""
    import statistics

    lines = ["| step | seconds (median) | share of wall |", "|---|---:|---:|"]
    total = 0.0
    for step in STEPS:
        values = [r[step] for r in step_runs if step in r]
        if not values:
            continue
        median = statistics.median(values)
        total += median
        lines.append(f"| {step} | {median:.1f} | {median / wall_s:.0%} |")
    lines.append(f"| outside steps (interpreter, imports, definitions, observation) | {max(wall_s - total, 0):.1f} | "
                 f"{max(wall_s - total, 0) / wall_s:.0%} |")
    return "\n".join(lines)


def nodes_table(node_runs: list[dict[str, float]], top: int = 8) -> str:
    """Where the dbt step's time goes: the ``top`` slowest dbt nodes (median seconds over runs, from each run's
    run_results.json) and the node time by kind (models, data tests, unit tests, seeds). Node times overlap when
    dbt runs threads in parallel, so shares are of the summed node time, not of the wall time."""
    import statistics

    names = {name for run in node_runs for name in run}
    medians = {name: statistics.median(r[name] for r in node_runs if name in r) for name in names}
    total = sum(medians.values())
    if not total:
        return "(no dbt run_results.json found for these runs)"
    lines = ["| dbt node | kind | seconds (median) | share of node time |", "|---|---|---:|---:|"]
    for name, seconds in sorted(medians.items(), key=lambda kv: -kv[1])[:top]:
        kind, _, rest = name.partition(".")
        short = rest.split(".", 1)[1] if "." in rest else rest  # drop the project name
        lines.append(f"| {short} | {kind} | {seconds:.1f} | {seconds / total:.0%} |")
    kinds: dict[str, list[float]] = {}
    for name, seconds in medians.items():
        kinds.setdefault(name.partition(".")[0], []).append(seconds)
    by_kind = ", ".join(f"{kind} {sum(v):.1f} s ({len(v)})"
                        for kind, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1])))
    lines += ["", f"Summed node time {total:.1f} s: {by_kind}."]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets_lines(pipeline: Summary, floor: Summary, scale: str, shared: Summary | None = None) -> list[str]:
    applies = "" if scale == "national" else f" (targets are set for national scale; this is {scale})"
    against_shared = [] if shared is None else [
        f"- pipeline / shared floor: {pipeline.wall_s / shared.wall_s:.2f}x (no target: the best single-machine "
        f"figure; the shared floor is {shared.wall_s / floor.wall_s:.2f}x the per-product floor)"]
    return [
        f"- pipeline <= {TARGET_RATIO:g}x floor: {pipeline.wall_s / floor.wall_s:.2f}x, "
        f"{verdict(pipeline.wall_s <= TARGET_RATIO * floor.wall_s)}{applies}",
        *against_shared,
        f"- pipeline <= {TARGET_WALL_S:g} s: {pipeline.wall_s:.1f} s, {verdict(pipeline.wall_s <= TARGET_WALL_S)}",
        f"- pipeline peak memory <= {TARGET_PEAK / GIB:g} GiB: {gib(pipeline.peak_rss)} GiB, "
        f"{verdict(pipeline.peak_rss <= TARGET_PEAK)}",
    ]


def machine_lines(info: dict[str, str], loads: list[str]) -> list[str]:
    return [f"- date: {info['date']}", f"- machine: {info['cpu']}, {info['memory']} memory, Python {info['python']}",
            f"- packages: {info['packages']}",
            f"- load average (1/5/15 min) before and after each measured set: {'; '.join(loads)}"]


def replace_section(text: str, key: str, body: str) -> str:
    """Put ``body`` between the ``key`` markers, replacing what was there, or append a new block."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


DOC_HEADER = """# Benchmarks

`trust bench` times one month of the pipeline against two references on the same generated data:

- **pipeline**: `trust_assets.runs.execute.run_months([month])` in a fresh process, Dagster end to end (observe, pin,
  dbt build with its tests, release candidates with disclosure control and the blocking audit, publication,
  lineage). The earlier months are built once, untimed, first, so the timed run is the incremental monthly case.
- **floor**: one DuckDB query per product over the parquet files the Delta log lists for the latest version, same
  definitions (docs/products.md), no disclosure control, no dbt, no Dagster. Its figures equal the marts' (checked
  by tests/unit/test_bench_products.py).
- **batch-copy peer**: each source table read whole into pandas (every row, column and month, as a batch-file copy
  would), products computed in pandas.

Each runs in a fresh subprocess; wall time and peak memory (the peak of the summed resident memory of the whole
process tree, sampled every 50 ms, and at least the kernel's `ru_maxrss`) are medians of `--runs` runs.

Targets: at national scale on 2 cores the pipeline takes <= 2x the floor, <= 90 s and <= 6 GiB peak
memory for a month; a month added to a table with 12 months of history costs <= 1.2x the first month. The history
measurement needs 13 generated months, so `trust bench --history` runs it at regional scale unless
`--history-scale` says otherwise.

Reproduce: `trust bench --scale regional`, `trust bench --scale national`, `trust bench --history`.
"""


def update_doc(key: str, body: str, path: Path = DOC_PATH) -> Path:
    text = path.read_text() if path.exists() else DOC_HEADER
    path.write_text(replace_section(text, key, body))
    return path
