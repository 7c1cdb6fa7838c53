"""Bench homes: one TRUST_HOME per data set, generated once and reused while it matches the requested options.

A national month takes about a minute and 3 GiB to generate, so a home records what it holds
(``bench-data.json``) and is regenerated only when the seed, scale, months or start differ. Regenerating also
clears the home's warehouse, published tables and Dagster instance: they describe the old data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from trust_assets.lib.paths import TrustPaths

MARKER = "bench-data.json"


@dataclass(frozen=True)
class DataSpec:
    scale: str
    months: int
    seed: int = 42
    start: str = "2025-01"

    def month_labels(self) -> list[str]:
        from trust_assets.lib.months import iter_months

        return list(iter_months(self.start, self.months))


def default_root(paths: TrustPaths) -> Path:
    """Where bench homes live unless --home says otherwise: $TRUST_HOME/bench."""
    return paths.root / "bench"


def read_marker(home: Path) -> dict:
    try:
        return json.loads((home / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def write_marker(home: Path, spec: DataSpec, **state) -> None:
    (home / MARKER).write_text(json.dumps({**asdict(spec), **state}, indent=2, sort_keys=True))


def matches(home: Path, spec: DataSpec) -> bool:
    marker = read_marker(home)
    return all(marker.get(k) == v for k, v in asdict(spec).items()) and (home / "departments").is_dir()


def reset_pipeline_state(home: Path) -> None:
    """Forget everything the pipeline built (warehouse, candidates, published, Dagster runs); keep the sources."""
    paths = TrustPaths(home)
    for folder in (paths.trust, paths.dagster_home):
        shutil.rmtree(folder, ignore_errors=True)


def ensure_data(home: Path, spec: DataSpec, echo=print) -> bool:
    """Generate ``spec`` under ``home`` unless it is already there; returns True when it was generated."""
    if matches(home, spec):
        echo(f"[bench] reusing {spec.scale} data ({spec.months} month(s), seed {spec.seed}) in {home}")
        return False
    home.mkdir(parents=True, exist_ok=True)
    reset_pipeline_state(home)
    (home / MARKER).unlink(missing_ok=True)
    echo(f"[bench] generating {spec.scale} data ({spec.months} month(s), seed {spec.seed}) in {home}")
    command = [sys.executable, "-c", "from trust_assets.cli import main; main()", "synth", "--scale", spec.scale,
               "--months", str(spec.months), "--seed", str(spec.seed), "--start", spec.start, "--force"]
    completed = subprocess.run(command, env=bench_env(home), capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"generating {spec.scale} data failed:\n"
                           f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    write_marker(home, spec)
    return True


def bench_env(home: Path) -> dict[str, str]:
    """The environment every bench subprocess runs with: its own TRUST_HOME, no analytics."""
    import os

    return {**os.environ, "TRUST_HOME": str(home), "GX_ANALYTICS_ENABLED": "false"}
