"""The release manifest: committed last, idempotent, and the basis for completing or superseding a killed release."""

from __future__ import annotations

import datetime as dt

import pytest
from _tables import claims
from deltalake import DeltaTable, write_deltalake
from test_release import write_candidate

from trust_assets.lib.evaluation.lineage.events import _as_uuid
from trust_assets.lib.evaluation.lineage.reading import read_events
from trust_assets.lib.evaluation.lineage.stages import PUBLISH_JOB
from trust_assets.lib.evaluation.lineage.validation import validate_event
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.publish.lineage import RELEASE_JOB
from trust_assets.lib.publish.release import complete_interrupted_release, publish_release
from trust_assets.lib.publish.releases import (
    ReleaseContext,
    interrupted_release,
    latest_release,
    record_release,
    released_versions,
    releases,
)
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import pin

NAMES = [p.name for p in PRODUCTS]
CHECKS = {p.name: [{"name": "x", "passed": True, "severity": "ERROR", "description": ""}] for p in PRODUCTS}


@pytest.fixture
def pins(tmp_path):
    uri = str(tmp_path / "uc_claims")
    write_deltalake(uri, claims(dt.date(2025, 1, 1)))
    return {"dwp/uc_claims": pin(UC_CLAIMS, uri)}


@pytest.fixture
def home(tmp_path) -> TrustPaths:
    return TrustPaths(tmp_path / "home").ensure()


def _context(paths: TrustPaths, run_id: str, versions: dict[str, int]) -> ReleaseContext:
    return ReleaseContext(paths=paths, run_id=run_id, months=("2025-01",), products=versions,
                          pins={"dwp/uc_claims": 0}, checks=tuple(CHECKS[NAMES[0]]), log=lambda _: None)


def _release(paths: TrustPaths, run_id: str, pins) -> dict[str, int]:
    """A whole release: candidates, product commits and the manifest row."""
    for product in PRODUCTS:
        write_candidate(paths, product, run_id, [None, "a:threshold"])
    results = publish_release(paths, ["2025-01"], run_id, pins, CHECKS, log=lambda _: None)
    versions = {name: r.version for name, r in results.items()}
    record_release(_context(paths, run_id, versions))
    return versions


def _heads(paths: TrustPaths) -> dict[str, int]:
    return {name: DeltaTable(str(paths.published_product(name))).version() for name in NAMES}


def test_a_home_without_manifest_is_legacy_and_a_publish_creates_it_before_any_product_commit(home, pins):
    assert released_versions(home, NAMES[0]) is None  # predates the manifest: readers serve every version
    for product in PRODUCTS:
        write_candidate(home, product, "run-1", [None])
    publish_release(home, ["2025-01"], "run-1", pins, CHECKS, log=lambda _: None)
    # products committed, no manifest row yet: nothing is released, so readers serve nothing of this run
    assert released_versions(home, NAMES[0]) == []
    assert interrupted_release(home, NAMES).run_id == "run-1"


def test_the_manifest_row_is_idempotent_per_run_and_names_every_product(home, pins):
    versions = _release(home, "run-1", pins)
    assert record_release(_context(home, "run-1", versions)) is False
    [release] = releases(home)
    assert release.run_id == "run-1" and dict(release.products) == versions == dict.fromkeys(NAMES, 0)
    assert release.pins == {"dwp/uc_claims": 0} and release.months == ("2025-01",)
    assert release.checks[0]["name"] == "x" and release.checks[0]["passed"] is True
    assert interrupted_release(home, NAMES) is None


def test_release_steps_run_before_the_manifest_and_a_failing_step_leaves_the_release_incomplete(home, pins):
    seen: list[str] = []

    def ledger(context: ReleaseContext) -> None:
        seen.append(context.run_id)
        assert latest_release(context.paths) is None, "the manifest row was written before the step ran"

    def refuse(context: ReleaseContext) -> None:
        raise RuntimeError("differencing risk")

    versions = dict.fromkeys(NAMES, 0)
    with pytest.raises(RuntimeError, match="differencing risk"):
        record_release(_context(home, "run-1", versions), [ledger, refuse])
    assert seen == ["run-1"] and releases(home) == []
    assert record_release(_context(home, "run-1", versions), [ledger]) is True
    assert seen == ["run-1", "run-1"] and latest_release(home).run_id == "run-1"


def test_recovery_completes_a_release_killed_between_two_product_commits(home, pins):
    first = _release(home, "run-1", pins)
    for product in PRODUCTS:
        write_candidate(home, product, "run-2", [None, None, None])
    # run-2 committed its first product, then died
    from trust_assets.lib.publish.release import candidate_policy_version, publication_metadata, publish_product

    p = PRODUCTS[0]
    base = publication_metadata(p, pins, ["2025-01"], CHECKS[p.name], {}, candidate_policy_version(home, p, "run-2"))
    publish_product(home, p, ["2025-01"], "run-2", base, log=lambda _: None)
    assert released_versions(home, p.name) == [first[p.name]]  # readers still see run-1 only
    found = interrupted_release(home, NAMES)
    assert found.run_id == "run-2" and dict(found.committed) == {p.name: first[p.name] + 1}

    message = complete_interrupted_release(home, log=lambda _: None)

    assert "completed interrupted release run-2" in message
    latest = latest_release(home)
    assert latest.run_id == "run-2" and latest.note == "completed by recovery"
    assert dict(latest.products) == _heads(home) == {n: v + 1 for n, v in first.items()}
    for name in NAMES:  # one commit per product: the first product's commit was not repeated
        runs = [h.get("trust.run_id") for h in DeltaTable(str(home.published_product(name))).history()]
        assert runs.count("run-2") == 1, name
        assert DeltaTable(str(home.published_product(name))).to_pyarrow_table().num_rows == 3
    assert complete_interrupted_release(home, log=lambda _: None) is None
    # OpenLineage: the recovered release's publish stage and its run COMPLETE, named by the release id
    events = [e for e in read_events(home) if e["eventType"] == "COMPLETE"]
    [publish] = [e for e in events if e["job"]["name"] == PUBLISH_JOB]
    assert publish["run"]["facets"]["parent"]["run"]["runId"] == _as_uuid("run-2")
    versions = {o["facets"]["symlinks"]["identifiers"][0]["name"]: int(o["facets"]["version"]["datasetVersion"])
                for o in publish["outputs"]}
    assert versions == dict(latest.products)
    assert any(e["run"]["runId"] == _as_uuid("run-2") and e["job"]["name"] == RELEASE_JOB for e in events)
    for event in read_events(home):
        validate_event(event)


def test_recovery_supersedes_a_release_it_cannot_complete(home, pins):
    first = _release(home, "run-1", pins)
    for product in PRODUCTS:
        write_candidate(home, product, "run-2", [None, None, None])
    from trust_assets.lib.publish.release import candidate_policy_version, publication_metadata, publish_product

    p = PRODUCTS[0]
    base = publication_metadata(p, pins, ["2025-01"], CHECKS[p.name], {}, candidate_policy_version(home, p, "run-2"))
    publish_product(home, p, ["2025-01"], "run-2", base, log=lambda _: None)
    write_candidate(home, PRODUCTS[1], "run-3", [None])  # a later run rewrote a candidate run-2 had audited

    message = complete_interrupted_release(home, log=lambda _: None)

    assert "could not complete interrupted release run-2" in message and f"{p.name} to v{first[p.name]}" in message
    assert latest_release(home).run_id == "run-1"
    restored = DeltaTable(str(home.published_product(p.name)))
    assert restored.history(limit=1)[0]["trust.restores"] == str(first[p.name])
    assert restored.to_pyarrow_table().num_rows == 2  # run-1's content again
    assert interrupted_release(home, NAMES) is None
    [failed] = [e for e in read_events(home) if e["eventType"] == "FAIL"]
    assert failed["run"]["runId"] == _as_uuid("run-2") and "superseded by recovery" in str(failed)


def test_the_retraction_and_plausibility_baseline_is_the_latest_complete_release(home, pins):
    """What analysts were given: the manifest's pins and product versions, not an interrupted run's commits."""
    from trust_assets.lib.audit.plausibility import read_published
    from trust_assets.lib.publish.release import (
        candidate_policy_version,
        last_release_sources,
        publication_metadata,
        publish_product,
    )

    assert last_release_sources(home) is None and read_published(home, NAMES[0]) is None
    _release(home, "run-1", pins)
    for product in PRODUCTS:
        write_candidate(home, product, "run-2", [None, None, None])
    p = PRODUCTS[0]
    base = publication_metadata(p, pins, ["2025-01"], CHECKS[p.name], {}, candidate_policy_version(home, p, "run-2"))
    publish_product(home, p, ["2025-01"], "run-2", {**base, "trust.sources": {"dwp/uc_claims": 9}},
                    log=lambda _: None)  # run-2 committed one product (reading v9), then died
    assert last_release_sources(home) == {"dwp/uc_claims": 0}
    assert len(read_published(home, p.name)) == 2  # run-1's rows, not run-2's three
