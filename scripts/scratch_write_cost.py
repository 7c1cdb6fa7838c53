"""What writing the run's scratch database cost: PAYE's screening stored in a file, in memory, compressed in memory.

Usage: .venv/bin/python scripts/scratch_write_cost.py HOME [MEMORY_LIMIT]
  e.g. scripts/scratch_write_cost.py /tmp/national-home 4300MiB

docs/benchmarks.md ("Findings (2026-12-04)") quotes these figures. The SQL is what the HOME's latest dbt run
executed (its target folder under trust/dbt/runs: int_district_codes_conformed, then int_employments_screened over
that run's pinned PAYE files through the warehouse's staging view), under the given DuckDB memory limit (the
6 GiB setting gives dbt's DuckDB 4300 MiB), spilling to a temporary folder. Timed: the query counted (no write),
then stored into a file database (what TRUST_SCRATCH=file does), an in-memory database (the default) and an
in-memory database with compression. Opens the warehouse read-only: run it when no run is using the HOME.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

_MODELS = Path("run/labour_market_trust/models/intermediate")


def _body(run: Path, model: str) -> str:
    """The select inside the ``create table ... as (...)`` dbt ran for ``model``."""
    sql = (run / _MODELS / f"{model}.sql").read_text(encoding="utf-8")
    return sql[sql.index(" as (") + 5:sql.rindex(")")]


def main() -> int:
    import duckdb

    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    home = Path(sys.argv[1])
    limit = sys.argv[2] if len(sys.argv) > 2 else "4300MiB"
    built = sorted((home / "trust" / "dbt" / "runs").glob(f"*/{_MODELS}/int_employments_screened.sql"),
                   key=lambda p: p.stat().st_mtime)
    if not built:
        print(f"no dbt run under {home / 'trust' / 'dbt' / 'runs'} built int_employments_screened", file=sys.stderr)
        return 1
    run = built[-1].parents[4]  # <run>/run/labour_market_trust/models/intermediate/<model>.sql
    screened = _body(run, "int_employments_screened")
    with tempfile.TemporaryDirectory(prefix="scratch-cost-") as tmp:
        con = duckdb.connect(":memory:", config={"memory_limit": limit, "temp_directory": f"{tmp}/spill",
                                                 "preserve_insertion_order": False, "threads": 2})
        con.execute(f"attach '{home / 'trust' / 'warehouse.duckdb'}' as warehouse (read_only)")
        con.execute(f"attach '{tmp}/run_scratch.duckdb' as run_scratch")
        con.execute("create table run_scratch.main.int_district_codes_conformed as "
                    f"({_body(run, 'int_district_codes_conformed')})")
        con.execute("attach ':memory:' as plain")
        con.execute("attach ':memory:' as packed (compress)")
        print(f"{run.name}, DuckDB {duckdb.__version__}, memory_limit {limit}")
        for label, sql in (("computed, counted (no write)", f"select count(*) from ({screened})"),
                           ("stored in a file database", f"create table run_scratch.main.x as ({screened})"),
                           ("stored in memory", f"create table plain.main.x as ({screened})"),
                           ("stored in memory, compressed", f"create table packed.main.x as ({screened})")):
            began = time.perf_counter()
            con.execute(sql)
            print(f"{label}: {time.perf_counter() - began:.1f} s", flush=True)
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
