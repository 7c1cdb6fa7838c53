"""Lineage of the whole flow: the Dagster run and each stage as jobs, FAIL with the cause, dbt models from dbt's
run results; every event validates against the shipped OpenLineage schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from trust_assets.lib.evaluation.lineage.dbt_events import emit_model_events
from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage
from trust_assets.lib.evaluation.lineage.reading import read_events
from trust_assets.lib.evaluation.lineage.stages import AUDIT_JOB, PIN_JOB, PUBLISH_JOB, run_ended, stage
from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
from trust_assets.lib.evaluation.lineage.validation import validate_event
from trust_assets.lib.paths import TrustPaths

RUN = "0b9d7f4e-1c2a-4e5b-8f6a-9d8c7b6a5e4f"
JOB = "monthly_products"


@pytest.fixture
def emitter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LineageEmitter:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    return LineageEmitter(TrustPaths(tmp_path))


def _summary(emitter: LineageEmitter) -> list[tuple[str, str]]:
    events = read_events(emitter.paths)
    for event in events:
        validate_event(event)
    return [(e["job"]["name"], e["eventType"]) for e in events]


def test_stages_are_children_of_the_run_and_publication_completes_it(emitter: LineageEmitter) -> None:
    with stage(emitter, PIN_JOB, RUN, JOB):
        pass
    with stage(emitter, PUBLISH_JOB, RUN, JOB, ends_run=True):
        pass
    assert _summary(emitter) == [(JOB, "START"), (PIN_JOB, "START"), (PIN_JOB, "COMPLETE"),
                                 (PUBLISH_JOB, "START"), (PUBLISH_JOB, "COMPLETE"), (JOB, "COMPLETE")]
    events = read_events(emitter.paths)
    assert events[0]["run"]["runId"] == RUN and events[0]["job"]["facets"]["jobType"]["jobType"] == "JOB"
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in events[1:-1]} == {RUN}


def test_a_failing_stage_fails_itself_and_the_run_with_the_error(emitter: LineageEmitter) -> None:
    with pytest.raises(RuntimeError), stage(emitter, PIN_JOB, RUN, JOB):
        raise RuntimeError("cannot read dwp/uc_claims in place")
    assert _summary(emitter) == [(JOB, "START"), (PIN_JOB, "START"), (PIN_JOB, "FAIL"), (JOB, "FAIL")]
    stage_fail, run_fail = read_events(emitter.paths)[2:]
    assert stage_fail["run"]["facets"]["errorMessage"]["message"] == "RuntimeError: cannot read dwp/uc_claims in place"
    assert "Traceback" in stage_fail["run"]["facets"]["errorMessage"]["stackTrace"]
    assert run_fail["run"]["facets"]["errorMessage"]["message"].startswith(f"{PIN_JOB} failed: RuntimeError")
    assert not run_ended(emitter, RUN, JOB)  # the run's end is written once, whoever reports it later


def test_a_blocked_release_fails_with_the_checks_that_blocked_it(emitter: LineageEmitter) -> None:
    with stage(emitter, AUDIT_JOB, RUN, JOB) as step:
        step.block("publication blocked by failed checks: sector_region_monthly:expectations: 3 rows")
    assert _summary(emitter)[-2:] == [(AUDIT_JOB, "FAIL"), (JOB, "FAIL")]
    fail = read_events(emitter.paths)[-1]
    assert "sector_region_monthly:expectations" in fail["run"]["facets"]["errorMessage"]["message"]


def _timing(start: str, end: str) -> list[dict]:
    return [{"name": "compile", "started_at": start, "completed_at": start},
            {"name": "execute", "started_at": start, "completed_at": end}]


def test_each_dbt_model_is_a_job_with_described_columns_and_lineage(emitter: LineageEmitter) -> None:
    graph = load_dbt_lineage()
    assert graph is not None and graph.hops, "run `bash scripts/bootstrap.sh` to compile the lineage manifest"
    with pytest.raises(RuntimeError), stage(emitter, "labour_market_trust.dbt", RUN, JOB) as step:
        results = {"results": [
            {"unique_id": "model.labour_market_trust.stg_dwp__uc_claims", "status": "success",
             "timing": _timing("2026-12-02T01:00:00.000001Z", "2026-12-02T01:00:02.5Z")},
            {"unique_id": "model.labour_market_trust.local_labour_market_monthly", "status": "error",
             "message": "Contract violated", "timing": _timing("2026-12-02T01:00:03Z", "2026-12-02T01:00:04Z")},
            {"unique_id": "model.labour_market_trust.sector_region_monthly", "status": "skipped", "timing": []},
        ]}
        failures = emit_model_events(emitter, graph, results, step.step)
        step.failure = "dbt build failed: " + " | ".join(failures)
        raise RuntimeError("dbt exited 1")
    summary = _summary(emitter)
    assert ("labour_market_trust.dbt.stg_dwp__uc_claims", "COMPLETE") in summary
    assert ("labour_market_trust.dbt.local_labour_market_monthly", "FAIL") in summary
    assert not any("sector_region_monthly" in job for job, _ in summary)  # skipped: it never ran
    events = read_events(emitter.paths)
    staged = next(e for e in events if e["job"]["name"].endswith("stg_dwp__uc_claims") and e["eventType"] == "COMPLETE")
    assert staged["eventTime"] == "2026-12-02T01:00:02.5Z"
    assert staged["inputs"][0]["name"].endswith("departments/dwp/uc_claims")
    out = staged["outputs"][0]
    assert out["name"] == "warehouse.main.stg_dwp__uc_claims" and out["namespace"].startswith("duckdb://")
    fields = {f["name"]: f for f in out["facets"]["schema"]["fields"]}
    assert fields["residence_la_code"].get("description")
    hop = out["facets"]["columnLineage"]["fields"]["residence_la_code"]["inputFields"][0]
    assert hop["field"] == "residence_la_code" and hop["name"].endswith("departments/dwp/uc_claims")
    assert hop["transformations"][0]["subtype"] == "TRANSFORMATION"  # upper(trim(...))
    dbt_fail = next(e for e in events if e["job"]["name"] == "labour_market_trust.dbt" and e["eventType"] == "FAIL")
    assert dbt_fail["run"]["facets"]["errorMessage"]["message"] == (
        "dbt build failed: local_labour_market_monthly: Contract violated")
    model_run = next(e for e in events if e["job"]["name"].endswith("local_labour_market_monthly"))
    assert model_run["run"]["facets"]["parent"]["run"]["runId"] == dbt_fail["run"]["runId"]
