"""What PAYE's key window cost: the three ways of counting rows that share a (month, person, employer) key.

Usage: .venv/bin/python scripts/screening_window_cost.py HOME [MONTH] [MEMORY_LIMIT]
  e.g. scripts/screening_window_cost.py /tmp/national-home 2025-03 4300MiB

docs/benchmarks.md ("PAYE without the key window") quotes these figures. On the HOME's current
hmrc/paye_employments version, read the way dbt's staging view reads it (lib/sources/delta_scan.relation_sql), the
rows of the month and of the months 3 and 6 after it (none in the bench's 3-month homes; the filter is the one the
quoted run used) are made distinct over six columns, then: (1) nothing else, (2) plus the window over the key
the screening used to compute, (3) plus a keyed count joined back instead. Each result goes into a DuckDB
temporary table under the given memory limit (the 6 GiB setting gives dbt's DuckDB 4300 MiB), spilling to a
temporary folder; 2 threads.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def _months(first: str) -> list[str]:
    """``first`` (YYYY-MM) and the months 3 and 6 after it, as DuckDB date literals."""
    year, month = (int(part) for part in first.split("-"))
    out = []
    for ahead in (0, 3, 6):
        index = year * 12 + month - 1 + ahead
        out.append(f"date '{date(index // 12, index % 12 + 1, 1).isoformat()}'")
    return out


def main() -> int:
    import duckdb
    from deltalake import DeltaTable

    from trust_assets.lib.sources.delta_scan import plan_scan, relation_sql

    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    home = Path(sys.argv[1])
    month = sys.argv[2] if len(sys.argv) > 2 else "2025-03"
    limit = sys.argv[3] if len(sys.argv) > 3 else "4300MiB"
    uri = str(home / "departments" / "hmrc" / "paye_employments")
    if not (Path(uri) / "_delta_log").is_dir():
        print(f"no PAYE Delta table at {uri}: give a home made by `trust synth` or `trust bench`", file=sys.stderr)
        return 2
    rows = relation_sql(plan_scan(DeltaTable(uri), uri))
    distinct = (f"select person_id, employer_id, month, pay_gbp, residence_la_code, employment_start_date, "
                f"count(*) as copies from ({rows}) where month in ({', '.join(_months(month))}) group by all")
    queries = {
        "distinct only": distinct,
        "distinct + key window": (
            "select *, sum(case when pay_gbp >= 0 then 1 else 0 end) "
            f"over (partition by month, person_id, employer_id) as key_versions from ({distinct})"),
        "distinct + keyed count joined back": (
            f"with d as materialized ({distinct}), k as (select month, person_id, employer_id, count(*) as n "
            "from d where pay_gbp >= 0 group by all having count(*) > 1) "
            "select d.*, coalesce(k.n, 1) as key_versions from d left join k using (month, person_id, employer_id)"),
    }
    with tempfile.TemporaryDirectory(prefix="screening-spill-") as spill:
        con = duckdb.connect()
        con.execute(f"set memory_limit='{limit}'; set threads=2; set temp_directory='{spill}'; "
                    "set preserve_insertion_order=false")
        print(f"PAYE {uri} version {DeltaTable(uri).version()}, month {month} (+3, +6), memory_limit {limit}")
        for name, sql in queries.items():
            started = time.perf_counter()
            con.execute(f"create or replace temp table screened as {sql}")
            elapsed = time.perf_counter() - started
            count = con.execute("select count(*) from screened").fetchone()
            print(f"{name}: {elapsed:.1f} s, {count[0] if count else 0} rows", flush=True)
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
