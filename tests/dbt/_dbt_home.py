"""Helpers shared by the dbt-building tests (imported as `_dbt_home`: pytest puts tests/dbt on the path).

Each test writes hand-made or generated department tables under its own root, then runs the dbt CLI in a
subprocess: dbt-duckdb keeps the warehouse open in-process, and DuckDB refuses a second, read-only connection to
it from the same process, so the tests can only read the results back once dbt has exited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable

import pyarrow as pa

from trust_assets.lib.paths import DBT_PROJECT_DIR, TrustPaths
from trust_assets.lib.registry.sources import SourceTable
from trust_assets.lib.transform.dbt_args import RUN_VARS_ENV, dbt_vars, pins_from_home

DBT = os.path.join(os.path.dirname(sys.executable), "dbt")


def write_commits(paths: TrustPaths, table: SourceTable, commits: Iterable[list[dict]]) -> None:
    """Append each list of rows to ``table`` under ``paths`` as its own Delta commit (as a department would)."""
    from deltalake import write_deltalake

    uri = str(paths.source_table(table.dept, table.table))
    for rows in commits:
        write_deltalake(uri, pa.Table.from_pylist(rows, schema=table.schema), mode="append")


def dbt_command(command: str, paths: TrustPaths, months: list[str], scratch: str = "scratch",
                extra_vars: dict | None = None, extra_args: Iterable[str] = ()) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) for ``dbt <command>`` over ``months``, every source pinned at its latest version.

    dbt's target and log paths go under ``<root>/<scratch>`` so several builds can run side by side, and the
    environment names the root (profiles.yml reads the warehouse location from TRUST_HOME and has no default).
    DuckDB settings another test exported into this process (``TRUST_DUCKDB_*``: the scratch file, the spill folder,
    under that test's home) are not passed on: builds side by side would share one scratch database and fail on
    its lock. Without them the profile's defaults apply (``run_scratch`` in memory, spill under this root).
    Nor is a run's TRUST_DBT_RUN_VARS: it would answer for any run var these ``--vars`` leave out.
    """
    run_vars = {**dbt_vars(pins_from_home(paths), months), **(extra_vars or {})}
    scratch_dir = paths.root / scratch
    args = [DBT, command, "--vars", json.dumps(run_vars), "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(scratch_dir / "target"),
            "--log-path", str(scratch_dir / "logs"), *extra_args]
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("TRUST_DUCKDB_") and name != RUN_VARS_ENV}
    return args, {**inherited, "TRUST_HOME": str(paths.root)}


def run_dbt(command: str, paths: TrustPaths, months: list[str], scratch: str = "scratch",
            extra_args: Iterable[str] = ()) -> None:
    """Run ``dbt <command>`` to completion (bounded at five minutes) and fail the test with dbt's output if it fails."""
    args, env = dbt_command(command, paths, months, scratch, extra_args=extra_args)
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, f"dbt {command} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"


def query(paths: TrustPaths, sql: str) -> list[tuple]:
    """Rows of ``sql`` over the warehouse dbt built under ``paths`` (read-only, after dbt has exited)."""
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()
