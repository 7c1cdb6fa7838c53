"""Build a release's candidates from the marts: the 'write' of write–audit–publish.

Every product of one run is protected together (linked margins tie them to each other) and written to
``trust/candidates/`` as one Delta commit each, where the audit reads it and analysts never do. Plain library code
(no Dagster), so the same functions serve the Dagster step, ``trust run --reproduce`` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from trust_assets.lib.months import month_dates
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product
from trust_assets.lib.transform.engine import Engine


@dataclass
class Release:
    """One run's products: unprotected marts, what may be published, and what was suppressed."""

    months: list[str]
    unprotected: dict[str, pd.DataFrame]
    published: dict[str, pd.DataFrame]
    suppressed: list[dict[str, Any]]
    policy_version: str
    candidate_versions: dict[str, int] = field(default_factory=dict)
    #: the ledger rows of the release's months as the audit read them (earlier releases), and its version
    ledger: pd.DataFrame | None = None
    ledger_version: int | None = None
    #: what this release adds to the ledger (appended when it is published)
    ledger_entries: pd.DataFrame | None = None
    #: per product, the cells each protection touched (``perturbation.product_protection``)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)

    def arrow(self, name: str) -> pa.Table:
        return published_arrow(name, self.published[name])


def read_marts(paths: TrustPaths, months: list[str], engine: Engine | None = None) -> dict[str, pd.DataFrame]:
    """The built months of every mart, read from the DuckDB warehouse (aggregates only, a few thousand rows), or,
    for the Spark engine, from the marts' Delta tables: through Delta, never through the Spark session."""
    import duckdb

    if engine is not None and engine.is_spark:
        return read_spark_marts(paths, months)
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        located = dict(con.execute(
            "select table_name, table_schema from information_schema.tables where table_name in "
            f"({', '.join('?' for _ in PRODUCTS)}) and table_type = 'BASE TABLE'",
            [p.name for p in PRODUCTS]).fetchall())
        marts = {}
        for p in PRODUCTS:
            if p.name not in located:
                raise RuntimeError(f"mart {p.name} is not in the warehouse {paths.warehouse}: did dbt build it?")
            marts[p.name] = con.execute(
                f'select * from "{located[p.name]}"."{p.name}" where {p.month_column} in '
                f"(select cast(unnest(?) as date)) order by all", [month_dates(months)]).fetch_df()
        return marts
    finally:
        con.close()


def read_spark_marts(paths: TrustPaths, months: list[str]) -> dict[str, pd.DataFrame]:
    """The built months of the marts the Spark engine wrote (Delta tables under TrustPaths.spark_marts), selected
    and ordered by the same SQL as the DuckDB path, so both engines hand disclosure control identical frames."""
    import duckdb
    from deltalake import DeltaTable

    marts = {}
    with duckdb.connect() as con:
        for p in PRODUCTS:
            uri = str(paths.spark_marts / p.name)
            if not DeltaTable.is_deltatable(uri):
                raise RuntimeError(f"mart {p.name} has no Delta table at {uri}: did dbt build it on Spark?")
            con.register("mart", DeltaTable(uri).to_pyarrow_table())
            marts[p.name] = con.execute(
                f"select * from mart where {p.month_column} in (select cast(unnest(?) as date)) order by all",
                [month_dates(months)]).fetch_df()
            con.unregister("mart")
    return marts


def published_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """A protected product as Arrow with stable types (dates as date32, counts as int64, stats as float64)."""
    from trust_assets.lib.audit.disclosure.policy import load_policy

    rules = load_policy().product(name)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for f in table.schema:
        if f.name in rules.counts:
            fields.append(pa.field(f.name, pa.int64()))
        elif f.name in rules.pay or f.name in {r.column for r in rules.rates}:
            fields.append(pa.field(f.name, pa.float64()))
        elif pa.types.is_timestamp(f.type) or f.name == product(name).month_column:
            fields.append(pa.field(f.name, pa.date32()))
        elif pa.types.is_large_string(f.type) or f.name == "suppression":
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    return table.cast(pa.schema(fields))


def build_release(paths: TrustPaths, months: list[str], run_id: str, engine: Engine | None = None,
                  ledger_before: str | None = None) -> Release:
    """Protect every product of the run together, against the release ledger of everything published before,
    and write the candidates (one commit each) and the ledger entries publishing them would add.

    ``ledger_before``: a release id; only the ledger entries recorded before it count (``--reproduce`` rebuilds a
    past release exactly as it was protected then).
    """
    from trust_assets.lib.audit.disclosure.cellkey import CellKeys
    from trust_assets.lib.audit.disclosure.differencing import ledger_entries, pinned_by_history
    from trust_assets.lib.audit.disclosure.perturbation import protection_summary
    from trust_assets.lib.audit.disclosure.policy import load_policy
    from trust_assets.lib.audit.disclosure.protect import protect, suppression_counts
    from trust_assets.lib.publish.commit import replace_months
    from trust_assets.lib.publish.ledger import ledger_version, now_utc, read_ledger, write_candidate_entries

    policy = load_policy()
    marts = read_marts(paths, months, engine)
    seen = ledger_version(str(paths.disclosure_ledger))
    ledger = read_ledger(str(paths.disclosure_ledger), months=months, version=seen, before_release=ledger_before)
    keys = CellKeys.load(paths) if policy.cross_release == "keyed_rounding" else None
    published = protect(marts, policy, keys=keys, ledger=ledger)
    entries = ledger_entries(marts, published, policy, ledger, release_id=run_id, recorded_at=now_utc())
    protection = protection_summary(marts, published, policy)
    for name, pinned in pinned_by_history(entries, ledger, policy).items():  # a count, never which cells
        protection[name]["cross_release_pinned_by_history"] = pinned
    release = Release(months, marts, published, suppression_counts(published), policy.version,
                      ledger=ledger, ledger_version=seen, ledger_entries=entries, protection=protection)
    write_candidate_entries(paths, entries, run_id, seen)
    for p in PRODUCTS:
        result = replace_months(str(paths.candidate(p.name)), release.arrow(p.name), product=p.name,
                                month_column=p.month_column, grain=p.grain, months=months, run_id=run_id,
                                metadata={"trust.stage": "candidate", "trust.policy_version": policy.version,
                                          "trust.protection": release.protection.get(p.name, {})})
        release.candidate_versions[p.name] = result.version
    return release
