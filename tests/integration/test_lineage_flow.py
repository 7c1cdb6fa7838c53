"""The lineage an evaluator reads after a successful and a failed run: the Dagster run and every stage as jobs
(pin, each dbt model, audit, publish), FAIL with the cause, lineage for every published column."""

from __future__ import annotations

import pytest
from _corpus import rewrite_source, run

from trust_assets.lib.evaluation.lineage.reading import read_events
from trust_assets.lib.evaluation.lineage.stages import AUDIT_JOB, DBT_JOB, PIN_JOB, PUBLISH_JOB
from trust_assets.lib.evaluation.lineage.validation import validate_event
from trust_assets.lib.registry.products import PRODUCTS

pytestmark = pytest.mark.integration


def _runs(events: list[dict]) -> dict[str, list[dict]]:
    """Events grouped by the Dagster run they belong to (the run itself, or the parent of a step)."""
    by_step = {e["run"]["runId"]: e for e in events}
    grouped: dict[str, list[dict]] = {}
    for event in events:
        root = event
        while "parent" in root["run"]["facets"]:
            parent = root["run"]["facets"]["parent"]["run"]["runId"]
            root = by_step.get(parent, {"run": {"runId": parent, "facets": {}}})
        grouped.setdefault(root["run"]["runId"], []).append(event)
    return grouped


def test_a_successful_run_shows_every_stage_and_the_lineage_of_every_published_column(published_home):
    events = read_events(published_home)
    for event in events:
        validate_event(event)
    (run_events,) = _runs(events).values()
    jobs = {(e["job"]["name"], e["eventType"]) for e in run_events}
    for job in ("monthly_products", PIN_JOB, DBT_JOB, AUDIT_JOB, PUBLISH_JOB):
        assert {(job, "START"), (job, "COMPLETE")} <= jobs, job
    models = {name for name, kind in jobs if name.startswith(DBT_JOB + ".") and kind == "COMPLETE"}
    assert {f"{DBT_JOB}.{p.name}" for p in PRODUCTS} <= models and len(models) >= 15
    publish = next(e for e in run_events if e["job"]["name"] == PUBLISH_JOB and e["eventType"] == "COMPLETE")
    perturbed = 0
    for output in publish["outputs"]:
        fields = [f["name"] for f in output["facets"]["schema"]["fields"]]
        lineage = output["facets"]["columnLineage"]["fields"]
        assert set(fields) == set(lineage), f"{output['name']}: columns without lineage"
        described = [f["name"] for f in output["facets"]["schema"]["fields"] if f.get("description")]
        assert described == fields, f"{output['name']}: columns without a description"
        disclosure = output["facets"]["trust_disclosureControl"]  # cells protected by each rule (issue 11)
        rules = {(r["rule"], r["action"]) for r in disclosure["protections"]}
        assert ("keyed_rounding", "perturbed") in rules and disclosure["crossReleaseWithheld"] >= 0
        assert disclosure["perturbedCells"] <= sum(c["publishedCells"] for c in disclosure["perturbations"])
        perturbed += disclosure["perturbedCells"]
    assert perturbed > 0  # keyed rounding moves most published counts (small tiny-home products may show none)


def test_a_failed_run_leaves_fail_events_naming_the_cause(published_home):
    before = len(read_events(published_home))
    rewrite_source(published_home.root, "dwp/uc_claims", lambda d: d.drop_columns(["conditionality_regime"]))
    assert not run(["2025-02"]).success
    new = read_events(published_home)[before:]
    for event in new:
        validate_event(event)
    failed = {e["job"]["name"]: e for e in new if e["eventType"] == "FAIL"}
    assert set(failed) == {"monthly_products", PIN_JOB}
    for event in failed.values():
        message = event["run"]["facets"]["errorMessage"]["message"]
        assert "dwp/uc_claims" in message and "conditionality_regime" in message, message
    assert not any(e["job"]["name"] == PUBLISH_JOB for e in new)


def test_data_docs_of_the_run_open_offline(published_home):
    from trust_assets.lib.audit.data_docs_assets import GX_STATIC_CACHE, URLS

    pages = list((published_home.reports / "gx").glob("*/*/**/*.html"))
    assert pages, "the audit wrote no Data Docs"
    if not GX_STATIC_CACHE.is_dir():
        pytest.skip("no npm at set-up: Data Docs keep their CDN links")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not any(url in text for url in URLS), page
    assert (published_home.reports / "gx" / "_static" / "jquery" / "jquery.min.js").is_file()
