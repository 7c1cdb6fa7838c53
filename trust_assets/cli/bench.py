"""``trust bench``: time one month of the pipeline against the floor and the batch-copy peer.

See docs/benchmarks.md for the method and the targets; the measurements live in trust_assets/bench/.
"""

from __future__ import annotations

from pathlib import Path

import click

from trust_assets.cli.memory import check_memory_setting
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.transform.engine import ENGINES, Engine
from trust_assets.synth.scales import SCALES


@click.command()
@click.option("--scale", type=click.Choice(list(SCALES)), default="regional", show_default=True,
              help="Data size: tiny, small, regional (~1/10 UK) or national.")
@click.option("--runs", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Timed runs of each measurement; medians are reported.")
@click.option("--months", type=click.IntRange(1, 600), default=3, show_default=True,
              help="Months to generate; the last is timed, the earlier ones are built once, untimed.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Bench home for the data (default: $TRUST_HOME/bench/<scale>).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=42, show_default=True)
@click.option("--history", is_flag=True,
              help="Instead: time month 13 on a 13-month table against month 1 on a 1-month table.")
@click.option("--history-scale", type=click.Choice(list(SCALES)), default="regional", show_default=True,
              help="Scale of the --history measurement (national: 13 generated months, ~16 GiB, ~11 min).")
@click.option("--latency", is_flag=True,
              help="Instead: start the Dagster daemon (sensor on) and `trust serve`, commit the last generated month "
              "to the departments, and time commit -> published, audited release -> first read (at --scale).")
@click.option("--curve", "curve_scales", metavar="SCALES", default=None, callback=lambda _c, _p, v: _scales(v),
              help="Instead: time one month at each of these scales (e.g. tiny,small,regional,national) and plot "
              "wall time and peak memory against population (docs/img/scale-curve.svg).")
@click.option("--pipeline/--no-pipeline", "pipeline_too", default=True, show_default=True,
              help="Time the pipeline (--no-pipeline: only the floor and the peer).")
@click.option("--peer/--no-peer", default=True, show_default=True,
              help="Also time the batch-copy peer (it copies whole tables into memory).")
@click.option("--memory-limit", type=click.FloatRange(0.5, None), default=None, metavar="GIB",
              help="Stop any measured run whose process tree passes this much memory (default: 70% of RAM).")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb", show_default=True,
              help="spark: also time the same month through the Spark engine, beside DuckDB.")
@click.option("--spark-remote", metavar="sc://HOST:PORT", default=None,
              help="The Spark Connect server for --engine spark (default: $TRUST_SPARK_REMOTE; without either, "
              "the bench starts Sail through scripts/services.sh, local-cluster with 2 workers or $TRUST_SPARK_MODE, "
              "and stops it after).")
@click.option("--docs/--no-docs", default=True, show_default=True, help="Refresh docs/benchmarks.md.")
def bench(scale: str, runs: int, months: int, home: Path | None, seed: int, history: bool, history_scale: str,
          latency: bool, curve_scales: list[str] | None, pipeline_too: bool, peer: bool, memory_limit: float | None,
          engine: str, spark_remote: str | None, docs: bool) -> None:
    """Time one month of the pipeline against the floor (DuckDB) and a batch-copy peer (pandas)."""
    import contextlib
    import os

    import psutil

    from trust_assets.cli.run import choose_engine
    from trust_assets.lib.transform.engine import REMOTE_VAR

    start_sail = engine == "spark" and not (spark_remote or os.environ.get(REMOTE_VAR, "").strip())
    remote = "" if start_sail else choose_engine(engine, spark_remote).spark_remote
    Engine().export()  # the DuckDB measurements run on DuckDB; the Spark row sets its own environment

    from trust_assets.bench.data import DataSpec, default_root
    from trust_assets.bench.measure import MeasureError
    from trust_assets.bench.report import update_doc
    from trust_assets.bench.suite import Bench, history_bench, month_bench

    check_memory_setting()
    limit = int(memory_limit * (1 << 30)) if memory_limit else int(psutil.virtual_memory().total * 0.7)
    runner = Bench(runs, echo=click.echo, max_rss=limit)
    try:
        if history:
            root = home.resolve().parent if home else default_root(TrustPaths.from_env())
            body, key = history_bench(runner, root, history_scale, seed)
        elif curve_scales:
            from trust_assets.bench.curve import curve_bench

            root = home.resolve() if home else default_root(TrustPaths.from_env())
            body, key = curve_bench(runner, root, curve_scales, months, seed, write_plot=docs)
        elif latency:
            from trust_assets.bench.latency import latency_bench

            target = home.resolve() if home else default_root(TrustPaths.from_env()) / f"{scale}-latency"
            body, key = latency_bench(runner, target, DataSpec(scale, months, seed), runs=runs)
        else:
            target = home.resolve() if home else default_root(TrustPaths.from_env()) / scale
            label = ""
            with contextlib.ExitStack() as stack:
                if start_sail:
                    from trust_assets.bench.sail import started_sail

                    target.mkdir(parents=True, exist_ok=True)
                    mode = os.environ.get("TRUST_SPARK_MODE", "").strip() or "local-cluster"
                    remote = stack.enter_context(started_sail(target.parent / "services", mode))
                    label = f"Sail {mode}{', 2 workers' if mode == 'local-cluster' else ''}, {remote}"
                    click.echo(f"[bench] started {label}")
                body, key = month_bench(runner, target, DataSpec(scale, months, seed), peer, pipeline_too, remote,
                                        label)
    except (MeasureError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\n" + body)
    if docs:
        click.echo(f"\n[bench] wrote section '{key}' of {update_doc(key, body)}")


def _scales(value: str | None) -> list[str] | None:
    """``--curve tiny,small,regional``: known scale names, at least two, each once."""
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SCALES]
    if unknown:
        raise click.BadParameter(f"unknown scale(s) {', '.join(unknown)}; choose from {', '.join(SCALES)}",
                                 param_hint="--curve")
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise click.BadParameter("give at least two different scales, each once, e.g. tiny,small,regional",
                                 param_hint="--curve")
    return names
