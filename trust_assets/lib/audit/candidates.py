"""Build a release candidate from the marts and audit it: the 'write' and 'audit' of write–audit–publish.

Plain library code (no Dagster), so the same functions serve the Dagster step, ``trust run --reproduce`` and
the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trust_assets.lib.months import month_dates, shift_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product


@dataclass
class Release:
    """One run's products: unprotected marts, what may be published, and what was suppressed."""

    months: list[str]
    unprotected: dict[str, pd.DataFrame]
    published: dict[str, pd.DataFrame]
    suppressed: list[dict[str, Any]]
    policy_version: str
    candidate_versions: dict[str, int] = field(default_factory=dict)

    def arrow(self, name: str) -> pa.Table:
        return published_arrow(name, self.published[name])


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any]


@dataclass
class Audit:
    checks: dict[str, list[CheckOutcome]]
    #: product -> the GX Data Docs index.html of this run's validation
    data_docs: dict[str, Path]

    @property
    def passed(self) -> bool:
        return all(c.passed for checks in self.checks.values() for c in checks)

    def failures(self) -> list[str]:
        return [f"{name}:{c.name}: {c.description}" for name, checks in self.checks.items()
                for c in checks if not c.passed]


def read_marts(paths: TrustPaths, months: list[str]) -> dict[str, pd.DataFrame]:
    """The built months of every mart, read from the DuckDB warehouse (aggregates only, a few thousand rows)."""
    import duckdb

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


def published_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """A protected product as Arrow with stable types (dates as date32, counts as int64, stats as float64)."""
    from trust_assets.lib.audit.disclosure import load_policy

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


def build_release(paths: TrustPaths, months: list[str], run_id: str) -> Release:
    """Protect every product of the run together and write the candidates (one commit each)."""
    from trust_assets.lib.audit.disclosure import load_policy, protect, suppression_counts
    from trust_assets.lib.publish.commit import replace_months

    policy = load_policy()
    marts = read_marts(paths, months)
    published = protect(marts, policy)
    release = Release(months, marts, published, suppression_counts(published), policy.version)
    for p in PRODUCTS:
        result = replace_months(str(paths.candidate(p.name)), release.arrow(p.name), product=p.name,
                                month_column=p.month_column, grain=p.grain, months=months, run_id=run_id,
                                metadata={"trust.stage": "candidate", "trust.policy_version": policy.version})
        release.candidate_versions[p.name] = result.version
    return release


def previous_published(paths: TrustPaths, name: str, months: list[str]) -> pd.DataFrame | None:
    """The currently published rows of the months before those being built (for month-on-month checks)."""
    from deltalake import DeltaTable

    from trust_assets.lib.publish.commit import read_months

    uri = str(paths.published_product(name))
    if not DeltaTable.is_deltatable(uri):
        return None
    before = [shift_month(months[0], -1)]
    frame = read_months(uri, product(name).month_column, before).to_pandas()
    return frame if len(frame) else None


def audit_release(paths: TrustPaths, release: Release, months: list[str], run_id: str) -> Audit:
    """Run each product's GX suite and the disclosure compliance check; nothing here writes to published/."""
    from trust_assets.lib.audit.disclosure import check_compliance, load_policy

    policy = load_policy()
    violations = check_compliance(release.published, release.unprotected, policy)
    suites = run_release_suites(paths, release, months, run_id)
    checks: dict[str, list[CheckOutcome]] = {}
    for p in PRODUCTS:
        mine = [v for v in violations if v.product == p.name]
        suite = suites[p.name]
        failed = "; ".join(f"{r.expectation}({r.column or ''}) observed {r.observed_value!r}"
                           + (f", e.g. {list(r.unexpected_examples[:2])}" if r.unexpected_examples else "")
                           for r in suite.blocking_failures[:5])
        checks[p.name] = [
            CheckOutcome("expectations", suite.passes_gate,
                         f"{len(suite.results)} expectations passed" if suite.passes_gate else
                         f"{len(suite.blocking_failures)} expectation(s) failed: {failed}",
                         suite.to_metadata()),
            CheckOutcome(
                "disclosure_compliance", not mine,
                "every published cell meets disclosure policy " + policy.version if not mine else
                "; ".join(v.message for v in mine[:5]),
                {"violations": [v.as_dict() for v in mine[:20]], "policy_version": policy.version},
            ),
        ]
    return Audit(checks, {name: s.data_docs_index for name, s in suites.items() if s.data_docs_index})


def suite_parameters(name: str, months: list[str]) -> dict[str, Any]:
    """Run-dependent values the suites refer to with ``$PARAMETER``."""
    from trust_assets.lib.registry.reference import load_geography

    districts = list(load_geography().current_codes)
    return {"expected_months": month_dates(months), "district_codes": districts,
            "expected_rows": len(districts) * len(months)}


def run_release_suites(paths: TrustPaths, release: Release, months: list[str], run_id: str) -> dict[str, Any]:
    """Validate each candidate with its GX suite; Data Docs for the run go under reports/gx/<run_id>/<product>."""
    from trust_assets.lib.audit.gx_suites import load_suite_dict, validate_candidate
    from trust_assets.lib.audit.gx_suites import suite_parameters as needed

    results = {}
    for p in PRODUCTS:
        wanted = needed(load_suite_dict(p.name))
        params = {k: v for k, v in suite_parameters(p.name, months).items() if k in wanted}
        results[p.name] = validate_candidate(
            p.name, release.published[p.name], params, previous=previous_published(paths, p.name, months),
            data_docs_dir=paths.reports / "gx" / run_id / p.name, run_id=run_id)
    return results
