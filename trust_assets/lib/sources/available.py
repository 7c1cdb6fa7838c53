"""Which months the department tables hold: what ``trust run`` builds when no months are given.

A month is buildable once every monthly-stock source (DWP claims, HMRC payroll) holds it.
"""

from __future__ import annotations

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import source_table
from trust_assets.lib.sources.delta_pins import latest_version, touched_months
from trust_assets.lib.sources.volume import MONTHLY_STOCK_TABLES


def source_months(paths: TrustPaths) -> list[str]:
    """Months present in every monthly-stock source, from the Delta log's statistics (no data read)."""
    sets = []
    for key in MONTHLY_STOCK_TABLES:
        table = source_table(key)
        uri = str(paths.source_table(table.dept, table.table))
        sets.append(touched_months(table, uri, None, latest_version(uri)))
    return sorted(set.intersection(*sets)) if sets else []


def shared_source_months(share_profile: str) -> list[str]:
    """Months present in every monthly-stock source read through shares (reads only the month column)."""
    import duckdb

    from trust_assets.lib.sources.share_client import immutable_http_filesystem
    from trust_assets.lib.sources.share_pins import default_share_table, pin_shared

    con = duckdb.connect()
    for scheme in ("http", "https"):
        con.register_filesystem(immutable_http_filesystem(scheme))
    sets = []
    try:
        for key in MONTHLY_STOCK_TABLES:
            table = source_table(key)
            files = list(pin_shared(table, share_profile, default_share_table(table)).files)
            rows = con.execute("select distinct strftime(month, '%Y-%m') from read_parquet($f)",
                               {"f": files}).fetchall()
            sets.append({r[0] for r in rows})
    finally:
        con.close()
    return sorted(set.intersection(*sets))


def check_pins(paths: TrustPaths, versions: dict[str, int]) -> None:
    """Refuse pins that name no source or a version the source does not have, before any run starts.

    Raises SourceError naming every bad pin (with the known tables, or the versions there are), so ``trust run
    --pin`` fails in a second with words an analyst can act on rather than inside a started run.
    """
    from trust_assets.lib.sources.delta_pins import SourceError, readable_version

    problems = []
    for key, version in sorted(versions.items()):
        try:
            table = source_table(key)
        except KeyError as exc:
            problems.append(str(exc.args[0]))
            continue
        uri = str(paths.source_table(table.dept, table.table))
        latest = latest_version(uri)
        if not 0 <= version <= latest:
            problems.append(f"{key} has no version {version} (versions 0..{latest})")
            continue
        if not readable_version(uri, version):
            problems.append(f"{key} version {version} is no longer readable (its log or files were cleaned up)")
    if problems:
        raise SourceError("; ".join(problems))
