"""``trust demo``: the whole trust on one machine in a few minutes.

Generates a small synthetic population as four department Delta tables, runs every month through the Dagster
job (pin, dbt, audit, publish), sets up an example analyst recipient for the Delta Sharing server, writes the
evaluation report, and prints where everything is and how to look at it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trust_assets.lib.months import parse_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.storage import delta_table, is_delta_table

MARKER = ".trust-demo"
SHARING_ENDPOINT = "http://127.0.0.1:8080/delta-sharing"


class DemoError(Exception):
    """The demo cannot run here (a TRUST_HOME it did not create, or a failed run); the message says why."""


def prepare_home(paths: TrustPaths) -> None:
    """Start from a clean demo home; never wipe a TRUST_HOME the demo did not create."""
    root = paths.root
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise DemoError(
            f"TRUST_HOME={root} already holds data the demo did not create; point TRUST_HOME at an empty or new "
            "folder (e.g. TRUST_HOME=$(mktemp -d) trust demo)")
    for name in ("departments", "trust", "dagster"):
        shutil.rmtree(root / name, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by trust demo; the demo may replace everything in this folder\n")


def product_summaries(paths: TrustPaths) -> list[str]:
    """A few lines per published product: version, rows, months, share of cells published, one example row."""
    from trust_assets.lib.registry.cell_status import STATUS_PUBLISHED, STATUS_SUFFIX, SUPPRESSION_COLUMN
    from trust_assets.lib.registry.products import PRODUCTS

    lines = []
    for p in PRODUCTS:
        uri = paths.published_product(p.name)
        if not is_delta_table(str(uri)):
            lines.append(f"  {p.name}: not published")
            continue
        table = delta_table(str(uri))
        rows = table.to_pyarrow_table().sort_by([(c, "ascending") for c in p.grain]).to_pylist()
        months = sorted({parse_month(r[p.month_column]) for r in rows})
        statuses = [v for r in rows for k, v in r.items() if k.endswith(STATUS_SUFFIX)]
        shown = sum(v == STATUS_PUBLISHED for v in statuses)
        lines.append(f"  {p.name}  v{table.version()}  {len(rows):,} rows  {months[0]}..{months[-1]}  "
                     f"{shown / max(len(statuses), 1):.0%} of cells published\n    {uri}")
        # The most complete row makes the best example; a cell without a value shows its status instead.
        row = max(rows, key=lambda r: sum(v == STATUS_PUBLISHED for k, v in r.items() if k.endswith(STATUS_SUFFIX)))
        shown_values = [f"{k}={row.get(k + STATUS_SUFFIX) if v is None and k + STATUS_SUFFIX in row else v}"
                        for k, v in row.items() if not k.endswith(STATUS_SUFFIX) and k != SUPPRESSION_COLUMN]
        lines.append("    e.g. " + ", ".join(shown_values))
    return lines


@dataclass(frozen=True)
class DemoResult:
    seconds: float
    report: Path
    catalog: Path
    profile: Path
    snippet: str


def run_demo(paths: TrustPaths, *, scale: str, months: int, seed: int, echo: Callable[[str], None] = print
             ) -> DemoResult:
    """Generate the departments, run every month, set up an analyst recipient, write the report."""
    from trust_assets.lib.evaluation.report.html import write_report
    from trust_assets.lib.sources.available import source_months
    from trust_assets.runs.execute import run_months
    from trust_assets.sharing.demo import setup_demo_recipient
    from trust_assets.synth.writer import generate

    prepare_home(paths)
    began = time.perf_counter()
    echo(f"[demo] TRUST_HOME={paths.root}")
    echo(f"[demo] 1/4 generating the four departments ({scale}, {months} months, seed {seed})")
    generate(paths, seed=seed, scale=scale, months=months, start="2025-01", force=True)
    echo("[demo] 2/4 running every month through the Dagster job (pin → dbt → audit → publish)")
    outcomes = run_months(paths, source_months(paths), echo=echo)
    failed = [o for o in outcomes if not o.success]
    if failed:
        raise DemoError("\n".join(o.message for o in failed))
    echo("[demo] 3/4 example analyst recipient for the Delta Sharing server")
    profile, snippet = setup_demo_recipient(paths, SHARING_ENDPOINT)
    echo("[demo] 4/4 evaluation report and catalogue")
    report_path, catalog_path = write_report(paths, None)
    return DemoResult(time.perf_counter() - began, report_path, catalog_path, Path(profile), snippet)
