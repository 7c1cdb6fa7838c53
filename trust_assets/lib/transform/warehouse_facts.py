"""What a dbt build left in the warehouse, read back once dbt has exited: failing rows of tests, rows of tables.

On DuckDB every dbt test keeps its failing rows in a table (``store_failures_as: table``, dbt_project.yml) in the
``main_test_failures`` schema of the warehouse file. Every test of the project returns aggregate or reference rows
(row-rule shares per month, mart rows, district codes), never person-level rows; tests/dbt/test_dbt_build.py checks
that no table of the warehouse, stored failures included, has a person, employer or aim id. A failed test's facts
(which months, which rule, what share failed against which limit, a few example rows) are read from that table.

DuckDB allows one writer per file and refuses a read-only connection while dbt holds it, so this runs only after
the dbt process exited. Plain Python: the Dagster step turns these facts into check and materialization metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Month columns a failing row or a table may carry, in the order they are looked for.
MONTH_COLUMNS = ("month", "cohort_month", "completion_month")
#: Example failing rows a check shows.
EXAMPLE_ROWS = 5
#: Materializations of these kinds are tables in the warehouse file whose rows can be counted.
TABLE_MATERIALIZATIONS = ("table", "incremental", "seed")


@dataclass(frozen=True)
class FailedTest:
    """The facts of one failed (or warned) dbt test, as the Dagster check shows them."""

    rule: str
    limit: str
    months: list[str]
    failed_rows: int
    failing_share: float | None = None
    share_of: str = ""
    columns: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    relation: str | None = None


def plain(value: Any) -> Any:
    """A cell as a JSON/metadata-friendly value: dates as ``YYYY-MM-DD``, decimals as floats."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def month_key(value: Any) -> str:
    return str(plain(value))[:7]


def rule_of(node: Mapping[str, Any]) -> str:
    """The rule a dbt test checks, in words: the row rule, or the generic test and its arguments, or the name."""
    meta = node.get("test_metadata") or {}
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k not in ("model", "screened")}
    name = meta.get("name")
    if name == "trust_row_rule_within_limit":
        return f"source row rule {kwargs.get('rule')} (rows excluded from the month, docs/quality.md)"
    if name == "trust_row_rules_excluded":
        return "source row rules: rows excluded under the limit (warning)"
    if name:
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items() if v not in (None, "", False))
        return f"{name}({args})" if args else str(name)
    return str(node.get("description") or node.get("name") or "singular test").strip()


def limit_of(node: Mapping[str, Any], share_limit: float | None) -> str:
    config = node.get("config") or {}
    if share_limit is not None:
        return f"excluded share at most {share_limit:.2%} of the month's rows"
    severity = str(config.get("severity") or "error").lower()
    condition = config.get("error_if" if severity == "error" else "warn_if") or "!= 0"
    return f"{severity} if failing rows {condition}"


def relation_of(node: Mapping[str, Any]) -> str | None:
    """The stored-failures table of a test (dbt's relation_name, else database.schema.alias)."""
    if node.get("relation_name"):
        return str(node["relation_name"])
    parts = [node.get("database"), node.get("schema"), node.get("alias") or node.get("name")]
    return ".".join(f'"{p}"' for p in parts) if all(parts) else None


def _connect(warehouse: Path):
    import duckdb

    return duckdb.connect(str(warehouse), read_only=True)


def _shares(columns: list[str], rows: list[tuple]) -> tuple[float | None, float | None]:
    """(largest excluded share, its limit) when the failing rows are row-rule shares."""
    if "excluded_share" not in columns or not rows:
        return None, None
    share_at, limit_at = columns.index("excluded_share"), columns.index("max_excluded_share")
    worst = max(rows, key=lambda r: float(r[share_at] or 0))
    return float(worst[share_at] or 0), (float(worst[limit_at]) if worst[limit_at] is not None else None)


def _months(con: Any, relation: str, columns: list[str]) -> list[str]:
    column = next((c for c in MONTH_COLUMNS if c in columns), None)
    if column is None:
        return []
    found = con.execute(f'select distinct "{column}" from {relation} where "{column}" is not null '
                        f'order by 1').fetchall()
    return [month_key(m) for (m,) in found]


def read_failure(con: Any, node: Mapping[str, Any], failed_rows: int, build_months: list[str],
                 model_rows: int | None = None) -> FailedTest:
    """The facts of one failed test from its stored failing rows (``con``: the warehouse, read-only)."""
    relation = relation_of(node)
    columns: list[str] = []
    rows: list[tuple] = []
    months: list[str] = []
    if relation is not None:
        try:
            cursor = con.execute(f"select * from {relation} limit {EXAMPLE_ROWS}")
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            months = _months(con, relation, columns)
        except Exception:  # not stored (another engine, or dbt failed before the test): facts without examples
            relation, columns, rows = None, [], []
    share, share_limit = _shares(columns, rows)
    rule = rule_of(node)
    if "rule" in columns and rows:  # row-rule shares: the rules that excluded rows, worst first
        at, share_at = columns.index("rule"), columns.index("excluded_share") if "excluded_share" in columns else None
        ordered = sorted(rows, key=lambda r: -float(r[share_at] or 0) if share_at is not None else 0)
        rule += ": " + ", ".join(dict.fromkeys(str(r[at]) for r in ordered))
    share_of = "of the month's source rows" if share is not None else ""
    if share is None and model_rows:
        share, share_of = failed_rows / model_rows, f"of the {model_rows} rows of the model"
    return FailedTest(
        rule=rule, limit=limit_of(node, share_limit), months=months or list(build_months),
        failed_rows=failed_rows, failing_share=share, share_of=share_of, columns=columns,
        examples=[{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], relation=relation)


def read_failures(warehouse: Path, manifest: Mapping[str, Any], failed: Mapping[str, int],
                  build_months: list[str]) -> dict[str, FailedTest]:
    """{test unique_id: facts} for the failed tests (``failed``: unique_id -> dbt's failing row count)."""
    nodes = manifest.get("nodes", {})
    if not failed or not warehouse.exists():
        return {}
    out: dict[str, FailedTest] = {}
    with _connect(warehouse) as con:
        counts = table_row_counts(con, manifest, {nodes[u].get("attached_node") for u in failed if u in nodes})
        for unique_id, count in failed.items():
            node = nodes.get(unique_id)
            if node is not None:
                out[unique_id] = read_failure(con, node, count, build_months, counts.get(
                    str(node.get("attached_node")), (None, None))[0])
    return out


def countable(node: Mapping[str, Any]) -> bool:
    """Whether a dbt node is a table that stays in the warehouse file, so its rows can be counted after dbt exits
    (not a view, and not an intermediate model in the run's scratch, which is removed with the run)."""
    relation = node.get("relation_name")
    return ((node.get("config") or {}).get("materialized") in TABLE_MATERIALIZATIONS and bool(relation)
            and "run_scratch" not in str(relation))


def table_row_counts(con: Any, manifest: Mapping[str, Any], unique_ids: Iterable[str | None],
                     months: list[str] | None = None) -> dict[str, tuple[int, int | None]]:
    """{unique_id: (rows, rows in ``months``)} for the models and seeds that are tables in the warehouse.

    Views (staging, over the pinned source files) and the intermediate models (in the run's in-memory scratch,
    gone once dbt exits) are not counted: counting a view re-reads the department files.
    """
    nodes = manifest.get("nodes", {})
    out: dict[str, tuple[int, int | None]] = {}
    for unique_id in unique_ids:
        node = nodes.get(unique_id or "")
        if node is None or not countable(node):
            continue
        relation = node["relation_name"]
        try:
            columns = [d[0] for d in con.execute(f"select * from {relation} limit 0").description]
            month = next((c for c in MONTH_COLUMNS if c in columns), None)
            if month and months:
                listed = ", ".join(f"date '{m}-01'" for m in months)
                total, in_months = con.execute(
                    f'select count(*), count(*) filter (where "{month}" in ({listed})) from {relation}').fetchone()
                out[str(unique_id)] = (int(total), int(in_months))
            else:
                (total,) = con.execute(f"select count(*) from {relation}").fetchone()
                out[str(unique_id)] = (int(total), None)
        except Exception:  # a table dbt did not build in this run (a failed upstream): no count
            continue
    return out


def warehouse_row_counts(warehouse: Path, manifest: Mapping[str, Any], unique_ids: Iterable[str],
                         months: list[str]) -> dict[str, tuple[int, int | None]]:
    if not warehouse.exists():
        return {}
    with _connect(warehouse) as con:
        return table_row_counts(con, manifest, unique_ids, months)
