"""OpenLineage events: built with openlineage-python, validated against the vendored 2-0-2 schemas."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow as pa
import pytest

from trust_assets.lib.evaluation.lineage.facets import DISCLOSURE_FACET, PublishedOutput, SourceRead, dataset_identity
from trust_assets.lib.evaluation.lineage.reading import read_events
from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
from trust_assets.lib.evaluation.lineage.validation import LineageValidationError, validate_event
from trust_assets.lib.paths import TrustPaths

DAGSTER_RUN = "6f1c2a9e-8d1b-4c7a-9a55-2b3c4d5e6f70"
PRODUCT = "local_labour_market_monthly"


def _output(**overrides: object) -> PublishedOutput:
    values: dict = dict(
        product=PRODUCT, version=4, row_count=361, size_bytes=20_480,
        schema=pa.schema([("month", pa.date32()), ("local_authority_code", pa.string()),
                          ("claimants", pa.int64())]),
        column_lineage={"claimants": [("dwp/uc_claims", "person_id", "AGGREGATION")],
                        "local_authority_code": [("dwp/uc_claims", "residence_la_code", "GROUP_BY"),
                                                 ("hmrc/paye_employments", "residence_la_code", "GROUP_BY")],
                        "month": [("dwp/uc_claims", "month")]},
        assertions=[{"assertion": "expect_column_values_to_not_be_null", "success": True, "column": "month"},
                    {"assertion": "disclosure_threshold", "success": False, "severity": "error"}],
        policy_version="2026-01", suppressed={"claimants:threshold": 12, "claimants:secondary": 5})
    values.update(overrides)
    return PublishedOutput(**values)


@pytest.fixture
def emitter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LineageEmitter:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    return LineageEmitter(TrustPaths(tmp_path))


def _completed(emitter: LineageEmitter) -> tuple[dict, dict]:
    step = emitter.run_started(f"publish.{PRODUCT}", parent_run_id=DAGSTER_RUN, parent_job="monthly_products",
                               inputs=[SourceRead("dwp/uc_claims", 12, bytes_read=4096, files_read=2),
                                       SourceRead("hmrc/paye_employments", 7)])
    complete = emitter.run_completed(step, outputs=[_output()])
    start = read_events(emitter.paths)[0]
    return start, complete


def test_start_and_complete_are_written_and_valid(emitter: LineageEmitter) -> None:
    start, complete = _completed(emitter)
    events = read_events(emitter.paths)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert start["run"]["runId"] == complete["run"]["runId"]
    for event in events:
        validate_event(event)  # what was written still validates when read back
        assert event["run"]["facets"]["parent"]["run"]["runId"] == DAGSTER_RUN
        assert event["run"]["facets"]["parent"]["job"]["name"] == "monthly_products"


def test_inputs_carry_version_schema_and_statistics(emitter: LineageEmitter, tmp_path: Path) -> None:
    _, complete = _completed(emitter)
    claims = complete["inputs"][0]
    assert (claims["namespace"], claims["name"]) == ("file", str(tmp_path / "departments" / "dwp" / "uc_claims"))
    assert claims["facets"]["version"]["datasetVersion"] == "12"
    assert [f["name"] for f in claims["facets"]["schema"]["fields"]][:2] == ["person_id", "month"]
    assert claims["facets"]["symlinks"]["identifiers"][0] == {"namespace": "delta://dwp", "name": "uc_claims",
                                                              "type": "TABLE"}
    assert claims["inputFacets"]["inputStatistics"]["size"] == 4096
    candidate = complete["inputs"][2]  # the audited candidate carries the assertions
    assertions = candidate["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [a["success"] for a in assertions] == [True, False] and assertions[0]["column"] == "month"


def test_output_carries_version_statistics_lineage_and_disclosure(emitter: LineageEmitter) -> None:
    _, complete = _completed(emitter)
    out = complete["outputs"][0]
    assert out["facets"]["version"]["datasetVersion"] == "4"
    assert out["outputFacets"]["outputStatistics"] == {
        **out["outputFacets"]["outputStatistics"], "rowCount": 361, "size": 20_480}
    fields = out["facets"]["columnLineage"]["fields"]
    la = fields["local_authority_code"]["inputFields"]
    assert {f["name"].rsplit("/", 2)[-2] for f in la} == {"dwp", "hmrc"}
    assert la[0]["transformations"] == [{"type": "INDIRECT", "subtype": "GROUP_BY"}]
    assert fields["claimants"]["inputFields"][0]["transformations"][0]["type"] == "DIRECT"
    disclosure = out["facets"][DISCLOSURE_FACET]
    assert disclosure["_schemaURL"].endswith("DisclosureControlDatasetFacet.json#/$defs/DisclosureControlDatasetFacet")
    assert disclosure["suppressedCells"] == 17 and disclosure["policyVersion"] == "2026-01"


PROTECTION = {"count_method": "keyed_rounding", "count_cells_published": 300, "count_cells_perturbed": 240,
              "count_abs_perturbation": 480.0, "pay_cells_published": 50, "pay_cells_rounded": 49,
              "columns": {"claimants": {"kind": "count", "published": 300, "perturbed": 240,
                                        "abs_perturbation": 480.0}},
              "suppressed_by_rule": {"threshold": 12, "secondary": 5}, "cross_release_withheld": 0,
              "cross_release_pinned_by_history": 1}


def test_disclosure_facet_counts_cells_per_rule_including_keyed_rounding(emitter: LineageEmitter) -> None:
    step = emitter.run_started(f"publish.{PRODUCT}", parent_run_id=DAGSTER_RUN)
    suppressed = {"claimants:threshold": 12, "claimants:secondary": 5, "claimants:cross_release": 3}
    complete = emitter.run_completed(step, outputs=[_output(suppressed=suppressed, protection=PROTECTION)])
    validate_event(complete)
    facet = complete["outputs"][0]["facets"][DISCLOSURE_FACET]
    assert facet["suppressedCells"] == 20 and facet["perturbedCells"] == 240 and facet["crossReleaseWithheld"] == 3
    assert facet["pinnedByEarlierReleases"] == 1  # the limit of the guarantee is said, not hidden
    rules = {(r["rule"], r["action"]): r["cells"] for r in facet["protections"]}
    assert rules == {("cross_release", "suppressed"): 3, ("secondary", "suppressed"): 5,
                     ("threshold", "suppressed"): 12, ("keyed_rounding", "perturbed"): 240,
                     ("pay_rounding", "perturbed"): 49}
    assert facet["perturbations"] == [{"column": "claimants", "method": "keyed_rounding", "publishedCells": 300,
                                       "perturbedCells": 240, "meanAbsolutePerturbation": 1.6}]
    broken = copy.deepcopy(complete)
    broken["outputs"][0]["facets"][DISCLOSURE_FACET]["perturbedCells"] = -1
    with pytest.raises(LineageValidationError, match="less than the minimum"):
        validate_event(broken)
    # an output without a recorded protection (older commits) keeps the facet as it was
    _, plain = _completed(emitter)
    assert "perturbedCells" not in plain["outputs"][0]["facets"][DISCLOSURE_FACET]


def test_fail_event_carries_error_message(emitter: LineageEmitter) -> None:
    step = emitter.run_started("publish.sector_region_monthly", parent_run_id="not-a-uuid-run")
    try:
        raise RuntimeError("dominance rule failed for 3 cells")
    except RuntimeError as exc:
        event = emitter.run_failed(step, exc)
    error = event["run"]["facets"]["errorMessage"]
    assert event["eventType"] == "FAIL"
    assert error["message"] == "RuntimeError: dominance rule failed for 3 cells"
    assert error["programmingLanguage"] == "python" and "Traceback" in error["stackTrace"]
    # a non-UUID parent id becomes a stable UUID so the parent facet stays valid
    parent = event["run"]["facets"]["parent"]["run"]["runId"]
    assert parent == read_events(emitter.paths)[0]["run"]["facets"]["parent"]["run"]["runId"]


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda e: e.update(eventTime="25/11/2026 10:00"), "is not a 'date-time'"),
    (lambda e: e["run"].pop("runId"), "'runId' is a required property"),
    (lambda e: e["run"].update(runId="run-42"), "is not a 'uuid'"),
    (lambda e: e.update(eventType="DONE"), "'DONE' is not one of"),
    (lambda e: e["outputs"][0]["outputFacets"]["outputStatistics"].update(rowCount="many"), "not of type 'integer'"),
    (lambda e: e["outputs"][0]["facets"]["version"].pop("datasetVersion"), "'datasetVersion' is a required"),
    (lambda e: e["outputs"][0]["facets"][DISCLOSURE_FACET].update(suppressedCells=-1), "less than the minimum"),
    (lambda e: e["outputs"][0]["facets"][DISCLOSURE_FACET].pop("policyVersion"), "'policyVersion' is a required"),
    (lambda e: e["outputs"][0]["facets"]["version"].update(_schemaURL="https://example.org/x.json"),
     "no local schema"),
])
def test_broken_events_are_rejected(emitter: LineageEmitter, breakage, message: str) -> None:
    _, complete = _completed(emitter)
    broken = copy.deepcopy(complete)
    breakage(broken)
    with pytest.raises(LineageValidationError, match=message):
        validate_event(broken)


def test_invalid_event_is_never_written(emitter: LineageEmitter) -> None:
    with pytest.raises(LineageValidationError):
        emitter.emit({"eventType": "START", "eventTime": "not a time"})
    assert read_events(emitter.paths) == []


def test_bad_inputs_are_named(emitter: LineageEmitter) -> None:
    step = emitter.run_started("publish.x", inputs=[SourceRead("dwp/uc_claims", 1)])
    with pytest.raises(ValueError, match="unknown input 'ons/census'"):
        emitter.run_completed(step, outputs=[_output(column_lineage={"c": [("ons/census", "x")]})])
    with pytest.raises(ValueError, match="not '<column>:<reason>'"):
        emitter.run_completed(step, outputs=[_output(suppressed={"threshold": 3})])
    with pytest.raises(KeyError, match="unknown source table"):
        emitter.run_started("publish.x", inputs=[SourceRead("dwp/nope", 1)])


def test_dataset_identity_follows_openlineage_naming() -> None:
    assert dataset_identity("s3://dept-bucket/dwp/uc_claims") == ("s3://dept-bucket", "dwp/uc_claims")
    assert dataset_identity("file:///data/dwp/uc_claims") == ("file", "/data/dwp/uc_claims")
    with pytest.raises(ValueError, match="no bucket"):
        dataset_identity("s3:///nobucket")


def test_events_are_posted_when_openlineage_url_is_set(emitter: LineageEmitter,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{server.server_port}")
        step = emitter.run_started("publish.x", parent_run_id=DAGSTER_RUN)
        emitter.run_failed(step, "boom")
    finally:
        server.shutdown()
    assert [path for path, _ in received] == ["/api/v1/lineage"] * 2
    assert [e["eventType"] for _, e in received] == ["START", "FAIL"]
    assert received[0][1]["run"]["runId"] == step.run_id
    assert len(read_events(emitter.paths)) == 2  # the file is written as well


def test_unreachable_endpoint_does_not_lose_the_event(emitter: LineageEmitter,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")  # discard port: connection refused
    emitter.run_started("publish.x")
    assert len(read_events(emitter.paths)) == 1
