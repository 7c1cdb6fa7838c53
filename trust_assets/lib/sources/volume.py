"""Structural rules for department sources, checked on the pinned version before anything is built.

These block a run outright: a source that changed shape or lost most of a month cannot be conformed safely, and
publishing from it would silently misstate the labour market. Row-level rules (null ids, unknown districts, negative
pay, duplicates) are dbt tests that exclude and count below a threshold: see docs/quality.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from trust_assets.lib.months import month_start, shift_month
from trust_assets.lib.registry.sources import SourceTable
from trust_assets.lib.sources.delta_pins import SourcePin

#: A month whose row count falls below this fraction of the previous month's blocks the run.
MIN_MONTH_ON_MONTH_RATIO = 0.5
#: Tables that are monthly stocks (one row per person per month): an empty or collapsed month is a broken feed.
MONTHLY_STOCK_TABLES = ("dwp/uc_claims", "hmrc/paye_employments")


@dataclass(frozen=True)
class RuleResult:
    passed: bool
    description: str
    metadata: dict


def _prev_month(month: str) -> str:
    return shift_month(month, -1)


def month_row_counts(pin: SourcePin, months: list[str]) -> dict[str, int]:
    """Rows per month (and the month before each) in the pinned files; DuckDB prunes other months' row groups."""
    wanted = sorted(set(months) | {_prev_month(m) for m in months})
    if not pin.files:
        return dict.fromkeys(wanted, 0)
    from trust_assets.lib.storage import register_filesystems

    con = duckdb.connect()
    if any(f.startswith(("http://", "https://")) for f in pin.files):  # through a share: signed URLs over fsspec
        from trust_assets.lib.sources.share_client import immutable_http_filesystem

        for scheme in ("http", "https"):
            con.register_filesystem(immutable_http_filesystem(scheme))
    register_filesystems(con, list(pin.files))
    source = f"({pin.relation})" if pin.relation is not None else "read_parquet($files)"
    params = {"lo": month_start(wanted[0]), "hi": month_start(wanted[-1])}
    if pin.relation is None:
        params["files"] = list(pin.files)  # type: ignore[assignment]
    try:
        rows = con.execute(
            f"select strftime(month, '%Y-%m') as m, count(*) from {source} "
            "where month >= cast($lo as date) and month <= cast($hi as date) group by 1", params,
        ).fetchall()
    finally:
        con.close()
    counts = dict.fromkeys(wanted, 0)
    counts.update({m: int(n) for m, n in rows})
    return counts


def all_month_row_counts(pin: SourcePin) -> dict[str, int]:
    """Rows per month of every month the pinned version holds (reads the month column only)."""
    if not pin.files:
        return {}
    from trust_assets.lib.storage import register_filesystems

    con = duckdb.connect()
    register_filesystems(con, list(pin.files))
    source = f"({pin.relation})" if pin.relation is not None else "read_parquet($files)"
    params = {} if pin.relation is not None else {"files": list(pin.files)}
    try:
        rows = con.execute(f"select strftime(month, '%Y-%m') as m, count(*) from {source} "
                           "where month is not null group by 1", params).fetchall()
    finally:
        con.close()
    return {m: int(n) for m, n in rows}


def check_volume(table: SourceTable, pin: SourcePin, months: list[str], follow_ups: list[str] | None = None
                 ) -> RuleResult:
    """Every month read present, and none collapsed against the month before.

    ``months`` are the built months; ``follow_ups`` the other months the run reads of this table (an outcome
    cohort's follow-up months of payroll). A follow-up month after the newest month the table holds is not yet
    observable and is skipped; any other month read must be there and not collapsed, since its rows reach a
    product just as a built month's do.
    """
    if table.key not in MONTHLY_STOCK_TABLES:
        ok = pin.row_count > 0
        return RuleResult(ok, f"{table.key} has {pin.row_count} rows at version {pin.version}"
                          + ("" if ok else ": the table is empty"), {"rows": pin.row_count})
    newest = newest_month(pin)
    read = sorted(set(months) | {m for m in (follow_ups or []) if newest is not None and m <= newest})
    counts = month_row_counts(pin, read)
    problems = []
    for month in read:
        n, before = counts[month], counts[_prev_month(month)]
        if n == 0:
            problems.append(f"{month} has no rows")
        elif before and n < MIN_MONTH_ON_MONTH_RATIO * before:
            problems.append(f"{month} has {n} rows, {100 * (1 - n / before):.0f}% fewer than {_prev_month(month)} "
                            f"({before}); the limit is {100 * (1 - MIN_MONTH_ON_MONTH_RATIO):.0f}%")
    scope = "every month read" + (" (built and follow-up)" if len(read) > len(months) else "")
    description = (f"{table.key} v{pin.version}: " + "; ".join(problems)) if problems else (
        f"{table.key} v{pin.version}: {scope} present, no month fell by more than "
        f"{100 * (1 - MIN_MONTH_ON_MONTH_RATIO):.0f}%")
    return RuleResult(not problems, description, {"rows_by_month": counts, "months_read": read})


def newest_month(pin: SourcePin) -> str | None:
    """The newest month (``YYYY-MM``) the pinned files hold, from the log's statistics (or the files, without)."""
    spans = [hi for _, _, hi in pin.file_spans]
    if spans and all(hi is not None for hi in spans):
        return max(str(hi) for hi in spans)
    if not pin.files:
        return None
    con = duckdb.connect()
    if any("://" in f for f in pin.files):
        from trust_assets.lib.sources.share_client import immutable_http_filesystem

        for scheme in ("http", "https"):
            con.register_filesystem(immutable_http_filesystem(scheme))
    try:
        row = con.execute("select strftime(max(month), '%Y-%m') from read_parquet($files)",
                          {"files": list(pin.files)}).fetchone()
    finally:
        con.close()
    return row[0] if row else None
