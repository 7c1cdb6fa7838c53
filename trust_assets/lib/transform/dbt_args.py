"""Pure functions that turn a run's pinned sources and months into dbt's command-line arguments.

Kept free of Dagster and of I/O so it can be unit-tested: the graph is the same for every run, only the pins and
the months differ, and they reach dbt in the environment (``TRUST_DBT_RUN_VARS``, read while executing by
dbt_project/macros/trust_run_vars.sql), not as ``--vars``: dbt re-parses the whole project when ``--vars``
change, so a command line that is the same from run to run lets each run reuse the last one's parse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from trust_assets.lib.months import month_start
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import FOLLOW_UP_MONTHS
from trust_assets.lib.sources.delta_pins import SourcePin


def dbt_vars(pins: Mapping[str, SourcePin], months: Iterable[str], extra: Mapping[str, object] | None = None) -> dict:
    """The ``--vars`` dbt needs: where each source's pinned files are, and which months this run builds (plus
    ``extra``, e.g. the Spark engine's table locations from engine.spark_dbt_vars)."""
    built = sorted({month_start(m) for m in months})
    if not built:
        raise ValueError("a run must build at least one month")
    return {
        "trust_sources": {key: pin.as_dbt_var() for key, pin in sorted(pins.items())},
        "trust_month_start": built[0],
        "trust_month_end": built[-1],
        "trust_follow_up_months": list(FOLLOW_UP_MONTHS),
        **(extra or {}),
    }


def placeholder_vars() -> dict:
    """``--vars`` that pin every source to an empty relation of its agreed, typed columns, for one month.

    What linting and the set-up's lineage compile use: the SQL is the SQL a run compiles, no department data read.
    """
    from trust_assets.lib.registry.sources import SOURCE_TABLES
    from trust_assets.lib.sources.delta_pins import DUCKDB_TYPES

    sources = {t.key: {"uri": f"placeholder://{t.key}", "version": 0, "files": [],
                       "columns": {c.name: DUCKDB_TYPES[str(c.type)] for c in t.columns}} for t in SOURCE_TABLES}
    return {"trust_sources": sources, "trust_month_start": "2025-01-01", "trust_month_end": "2025-01-01"}


#: The environment variable carrying a run's own vars to dbt (macros/trust_run_vars.sql).
RUN_VARS_ENV = "TRUST_DBT_RUN_VARS"
#: Linux bounds one environment string (as one argument) at 32 pages (MAX_ARG_STRLEN): past it dbt cannot start.
MAX_RUN_VARS_BYTES = 128 * 1024 - len(RUN_VARS_ENV) - 2


@dataclass(frozen=True)
class DbtBuild:
    """A ``dbt build``: its arguments and the environment variables it needs beside the step's own."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def dbt_build_args(pins: Mapping[str, SourcePin], months: Iterable[str], select: str | None = None, *,
                   target: str | None = None, extra_vars: Mapping[str, object] | None = None) -> DbtBuild:
    """``dbt build`` for ``months``; ``target`` picks the profile's output (default: the profile's, DuckDB).

    The pins and months go in ``env``; ``extra_vars`` (the Spark engine's table locations, which its
    dbt_project.yml configs read while parsing, and which stay the same from run to run) stay ``--vars``.
    """
    run_vars = json.dumps(dbt_vars(pins, months), sort_keys=True)
    if len(run_vars.encode()) > MAX_RUN_VARS_BYTES:
        raise ValueError(
            f"the run's pins and months are {len(run_vars.encode())} bytes of JSON, over the {MAX_RUN_VARS_BYTES} "
            f"bytes one environment variable ({RUN_VARS_ENV}) can carry to dbt: a pinned table lists too many "
            "parquet files (its department can compact it, e.g. deltalake's optimize.compact)")
    args = ["build"]
    if extra_vars:
        args += ["--vars", json.dumps(dict(extra_vars), sort_keys=True)]
    if target:
        args += ["--target", target]
    if select:
        args += ["--select", select]
    return DbtBuild(args, {RUN_VARS_ENV: run_vars})


def pins_from_home(paths: TrustPaths) -> dict[str, SourcePin]:
    """Pin every source at its latest version under ``paths`` (for ad-hoc dbt runs and tests)."""
    from trust_assets.lib.registry.sources import SOURCE_TABLES
    from trust_assets.lib.sources.delta_pins import pin

    return {t.key: pin(t, str(paths.source_table(t.dept, t.table))) for t in SOURCE_TABLES}


if __name__ == "__main__":  # python -m trust_assets.lib.transform.dbt_args 2025-01 2025-03  -> prints the --vars JSON
    import sys

    from trust_assets.lib.paths import TrustPaths

    print(json.dumps(dbt_vars(pins_from_home(TrustPaths.from_env()), sys.argv[1:] or ["2025-01"])))
