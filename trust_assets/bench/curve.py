"""``trust bench --curve``: wall time and peak memory of one month against population, scale by scale.

Each scale gets the same measurement as ``trust bench --scale S`` (its own bench home, the earlier generated months
built once untimed, the last month timed; the pipeline and the per-product floor), so the growth from tiny to
national is visible on one plot (docs/img/scale-curve.svg) and in one table, measured in one sitting, the scales
sampled round-robin so that the machine's load falls on all of them alike.
A scale whose pipeline does not finish (over the memory limit, a failed build) is a point without a value, said in
the table: what does not fit is a result too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import PROJECT_ROOT

PLOT_PATH = PROJECT_ROOT / "docs" / "img" / "scale-curve.svg"


@dataclass(frozen=True)
class Point:
    scale: str
    people: int
    pipeline_s: float | None
    pipeline_peak: int | None
    floor_s: float
    floor_peak: int
    failure: str = ""


def prepare(bench, home: Path, spec) -> None:
    """Generate the scale's data and build its earlier months once, untimed."""
    from trust_assets.bench.data import ensure_data

    ensure_data(home, spec, echo=bench.echo)
    bench.warm(home, spec.month_labels()[:-1], spec)


def measure_points(bench, homes: dict[str, Path], specs: Mapping[str, Any]) -> list[Point]:
    """Every scale's pipeline (unless it cannot finish) and per-product floor for its last generated month,
    sampled round-robin (run 1 of every scale, then run 2, ...) so a change of machine load during the sitting
    falls on every scale alike instead of bending the curve; medians per scale."""
    from trust_assets.bench.measure import MeasureError, Summary
    from trust_assets.bench.report import load_average
    from trust_assets.bench.suite import Bench
    from trust_assets.synth.scales import SCALES

    once = Bench(1, echo=bench.echo, max_rss=bench.max_rss)
    before = load_average()
    pipelines: dict[str, list] = {s: [] for s in homes}
    floors: dict[str, list] = {s: [] for s in homes}
    failures: dict[str, str] = {}
    for index in range(bench.runs):
        for scale, home in homes.items():
            month = specs[scale].month_labels()[-1]
            tag = f"{scale}, sample {index + 1}/{bench.runs}"
            if scale not in failures:
                try:
                    _, samples = once.measure(f"pipeline ({tag})", home, "pipeline", month)
                    if samples[-1].over_memory:
                        failures[scale] = "stopped over the memory limit"
                    else:
                        pipelines[scale] += samples
                except MeasureError as exc:
                    failures[scale] = str(exc).splitlines()[0]
            floors[scale] += once.measure(f"floor ({tag})", home, "floor", month)[1]
    bench.loads.append(f"all samples {before} -> {load_average()}")
    points = []
    for scale in homes:
        pipeline = Summary.of(pipelines[scale]) if pipelines[scale] and scale not in failures else None
        floor = Summary.of(floors[scale])
        points.append(Point(scale, SCALES[scale].people, pipeline.wall_s if pipeline else None,
                            pipeline.peak_rss if pipeline else None, floor.wall_s, floor.peak_rss,
                            failures.get(scale, "")))
    return points


def plot(points: list[Point]) -> str:
    """Two panels in one SVG: wall time and peak memory against population (people), pipeline beside floor."""
    from trust_assets.bench.report import gib
    from trust_assets.lib.evaluation.report.charts import chart

    def series(pick) -> dict[str, list[tuple[int, float]]]:
        return {name: [(p.people, value) for p in points if (value := pick(p, name)) is not None]
                for name in ("pipeline", "floor")}

    def wall(p: Point, name: str) -> float | None:
        return p.pipeline_s if name == "pipeline" else p.floor_s

    def peak(p: Point, name: str) -> float | None:
        value = p.pipeline_peak if name == "pipeline" else p.floor_peak
        return None if value is None else float(gib(value))

    width, height = 620, 280
    time_svg = chart("Wall time of one month (s)", series(wall), x_label="people", width=width, height=height)
    memory_svg = chart("Peak memory of the process tree (GiB)", series(peak), x_label="people", width=width,
                       height=height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {2 * height}" width="{width}" '
            f'height="{2 * height}" font-family="sans-serif" font-size="12">'
            "<style>.grid{stroke:#e5e5e5}.axis-line{stroke:#505a5f}.chart-title{font-weight:bold}"
            ".axis,.legend{fill:#0b0c0c}.muted{fill:#505a5f}</style>"
            f'{time_svg}<g transform="translate(0,{height})">{memory_svg}</g></svg>')


def curve_section(points: list[Point], machine_info: dict[str, str], loads: list[str], months: int,
                  seed: int) -> str:
    from trust_assets.bench.report import gib, machine_lines

    def show(value: float | None, unit: str) -> str:
        return "-" if value is None else f"{value:,.1f}{unit}"

    rows = ["| scale | people | pipeline wall | pipeline peak | floor wall | floor peak | pipeline / floor |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        ratio = "-" if p.pipeline_s is None else f"{p.pipeline_s / p.floor_s:.2f}x"
        rows.append(f"| {p.scale} | {p.people:,} | {show(p.pipeline_s, ' s')}"
                    f"{' (' + p.failure + ')' if p.failure else ''} | "
                    f"{show(None if p.pipeline_peak is None else float(gib(p.pipeline_peak)), ' GiB')} | "
                    f"{show(p.floor_s, ' s')} | {show(float(gib(p.floor_peak)), ' GiB')} | {ratio} |")
    return "\n".join([
        f"## scale curve: one month against population ({months} generated months per scale, seed {seed})", "",
        "`trust bench --curve " + ",".join(p.scale for p in points) + "`: per scale, the last generated month timed "
        "(the earlier ones built once, untimed), the pipeline end to end and the per-product floor; medians of the "
        "runs, the scales sampled round-robin so the machine's load falls on all of them alike.", "",
        f"![wall time and peak memory against population]({PLOT_PATH.relative_to(PROJECT_ROOT / 'docs')})", "",
        *rows, "", *machine_lines(machine_info, loads),
    ])


def curve_bench(bench, root: Path, scales: list[str], months: int, seed: int, write_plot: bool) -> tuple[str, str]:
    """Measure every scale (smallest first), write the plot, return (docs section, its key)."""
    from trust_assets.bench.data import DataSpec
    from trust_assets.bench.report import machine
    from trust_assets.synth.scales import SCALES

    ordered = sorted(scales, key=lambda s: SCALES[s].people)
    specs = {scale: DataSpec(scale, months, seed) for scale in ordered}
    homes = {scale: root / scale for scale in ordered}
    for scale in ordered:
        prepare(bench, homes[scale], specs[scale])
    points = measure_points(bench, homes, specs)
    if write_plot:
        PLOT_PATH.parent.mkdir(parents=True, exist_ok=True)
        PLOT_PATH.write_text(plot(points))
    return curve_section(points, machine(), bench.loads, months, seed), "scale-curve"
