"""Audit a release's candidates: the 'audit' of write–audit–publish.

Each product's Great Expectations suite and the independent disclosure-compliance check run over the candidate;
the Dagster step turns each outcome into a blocking asset check. Nothing here writes to ``published/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trust_assets.lib.audit.candidates import Release
from trust_assets.lib.audit.plausibility import Finding
from trust_assets.lib.months import month_dates, shift_month
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product
from trust_assets.lib.storage import is_delta_table

log = logging.getLogger(__name__)


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


def previous_published(paths: TrustPaths, name: str, months: list[str]) -> pd.DataFrame | None:
    """The currently published rows of the months before those being built (for month-on-month checks)."""
    from trust_assets.lib.publish.commit import read_months

    uri = str(paths.published_product(name))
    if not is_delta_table(uri):
        return None
    before = [shift_month(months[0], -1)]
    frame = read_months(uri, product(name).month_column, before).to_pandas()
    return frame if len(frame) else None


def audit_release(paths: TrustPaths, release: Release, months: list[str], run_id: str, *,
                  publishing: bool = True) -> Audit:
    """Run each product's GX suite and the disclosure compliance check; nothing here writes to published/.

    The plausibility and retraction checks compare the release with what is published; a reproduction
    (``publishing=False``) publishes nothing and rebuilds old versions on purpose, so they are not judged there."""
    from trust_assets.lib.audit.disclosure.cellkey import CellKeys
    from trust_assets.lib.audit.disclosure.compliance import check_compliance
    from trust_assets.lib.audit.disclosure.differencing import check_differencing
    from trust_assets.lib.audit.disclosure.policy import load_policy
    from trust_assets.lib.audit.plausibility import check_release, load_plausibility, read_published
    from trust_assets.lib.publish.ledger import empty_ledger

    policy = load_policy()
    keys = CellKeys.load(paths, create=False) if policy.cross_release == "keyed_rounding" else None
    violations = check_compliance(release.published, release.unprotected, policy, keys=keys)
    ledger = release.ledger if release.ledger is not None else empty_ledger()
    differencing = [] if release.ledger_entries is None else check_differencing(release.ledger_entries, ledger,
                                                                                 policy)
    # counted once, by build_release, into the protection summary the candidates carry
    excused = {name: int(summary.get("cross_release_pinned_by_history", 0))
               for name, summary in release.protection.items()}
    suites = run_release_suites(paths, release, months, run_id)
    plausibility = load_plausibility()
    published = {p.name: read_published(paths, p.name) for p in PRODUCTS}
    findings = check_release(paths, release.published, months, plausibility, published) if publishing else {}
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
            _differencing_outcome([v for v in differencing if v.product == p.name], policy.version,
                                  release.ledger_version, excused.get(p.name, 0)),
            plausibility_outcome(findings[p.name], plausibility.label) if publishing else not_judged("plausibility"),
            retraction_outcome(paths, run_id, p.name, release.published[p.name], published[p.name])
            if publishing else not_judged("retractions"),
        ]
    return Audit(checks, {name: s.data_docs_index for name, s in suites.items() if s.data_docs_index})


def _differencing_outcome(mine: list[Any], policy_version: str, ledger_version: int | None,
                          pinned_by_history: int = 0) -> CheckOutcome:
    """The cross-release check: this release attacked together with the ledger of every earlier release.

    ``pinned_by_history`` cells are withheld now but pinned already by earlier releases and exactly known
    corrections (docs/quality.md, "What the ledger cannot prevent"): they do not block, and are said."""
    against = "no earlier release" if ledger_version is None else f"release ledger v{ledger_version}"
    excused = (f"; {pinned_by_history} withheld cell(s) were already pinned by earlier releases and the known "
               "corrections (docs/quality.md)" if pinned_by_history else "")
    return CheckOutcome(
        "differencing", not mine,
        (f"no published count can be pinned by differencing against {against}" if not mine else
         "; ".join(v.message for v in mine[:5])) + excused,
        {"violations": [v.as_dict() for v in mine[:20]], "policy_version": policy_version,
         "ledger_version": -1 if ledger_version is None else ledger_version,
         "pinned_by_history": pinned_by_history})


def not_judged(name: str) -> CheckOutcome:
    return CheckOutcome(name, True, "not judged: a reproduction publishes nothing", {})


def plausibility_outcome(findings: list[Finding], label: str) -> CheckOutcome:
    """The blocking ``plausibility`` check: every failed comparison named, the rest in metadata."""
    failed = [f for f in findings if not f.passed]
    description = (f"{len(findings)} coverage comparison(s) within {label}" if not failed else
                   f"{len(failed)} coverage comparison(s) outside {label}: " + "; ".join(f.message for f in failed[:5]))
    ordered = failed + [f for f in findings if f.passed]
    return CheckOutcome("plausibility", not failed, description,
                        {"policy": label, "failed": len(failed), "findings": [f.as_dict() for f in ordered[:40]]})


def retraction_outcome(paths: TrustPaths, run_id: str, name: str, candidate: pd.DataFrame,
                       published: pd.DataFrame | None) -> CheckOutcome:
    """The blocking ``retractions`` check: published cells dropped or observed outcomes made unobservable."""
    from trust_assets.lib.audit.retractions import judge, product_retractions, summary

    found = product_retractions(name, candidate, published)
    blocking, acknowledged = judge(paths, run_id, f"candidates/{name}:retractions", found)
    return CheckOutcome("retractions", not blocking, summary(blocking, acknowledged, f"{name} cells"),
                        {"retractions": [r.as_dict() for r in found[:20]],
                         "acknowledged": [a["id"] for _, a in acknowledged]})


def suite_parameters(name: str, months: list[str]) -> dict[str, Any]:
    """Run-dependent values the suites refer to with ``$PARAMETER``."""
    from trust_assets.lib.registry.reference import load_geography

    districts = list(load_geography().current_codes)
    return {"expected_months": month_dates(months), "district_codes": districts,
            "expected_rows": len(districts) * len(months)}


def run_release_suites(paths: TrustPaths, release: Release, months: list[str], run_id: str) -> dict[str, Any]:
    """Validate each candidate with its GX suite; Data Docs for the run go under reports/gx/<run_id>/<product>,
    sharing one copy of GX's static assets, and run folders past their retention (policies/retention.yaml) go."""
    from trust_assets.lib.audit.data_docs_assets import localise
    from trust_assets.lib.audit.gx_suites import load_suite_dict, validate_candidate
    from trust_assets.lib.audit.gx_suites import suite_parameters as needed

    results = {}
    for p in PRODUCTS:
        wanted = needed(load_suite_dict(p.name))
        params = {k: v for k, v in suite_parameters(p.name, months).items() if k in wanted}
        results[p.name] = validate_candidate(
            p.name, release.published[p.name], params, previous=previous_published(paths, p.name, months),
            data_docs_dir=paths.data_docs / run_id / p.name, run_id=run_id, static_dir=paths.data_docs / "_shared")
        # offline: the pages' CDN scripts and styles become links to one local copy per home
        try:
            localise(paths.reports / "gx" / run_id / p.name, paths.reports / "gx" / "_static")
        except OSError as exc:  # the pages still work online; an audit never fails over its report's styling
            log.warning("could not bundle Data Docs assets for %s: %s", p.name, exc)
    from trust_assets.lib.publish.maintenance import prune_run_folders

    prune_run_folders(paths.data_docs, "data_docs", keep=run_id)
    return results
