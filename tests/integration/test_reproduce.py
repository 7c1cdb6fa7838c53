"""A published version traced back to its pinned sources and rebuilt identically after the sources moved on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from trust_assets.lib.paths import TrustPaths

pytestmark = pytest.mark.integration
PRODUCT = "local_labour_market_monthly"
#: After two generated months every table is at version 1 (month 1 -> v0, month 2 -> v1); HMRC's late
#: correction of February lands later, so these pins see February before its correction.
FEBRUARY_PINS = {"dwp/uc_claims": 1, "hmrc/paye_employments": 1, "dfe/fe_learner_aims": 1,
                 "beis/business_register": 1}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from trust_assets.synth.writer import generate

    paths = TrustPaths(tmp_path_factory.mktemp("reproduce"))
    generate(paths, seed=5, scale="tiny", months=4, start="2025-01")
    return paths


def _dbt_log(home: TrustPaths, run_id: str) -> str:
    (folder,) = home.dbt_runs.glob(f"{run_id[:8]}-*")
    return (folder / "dbt.log").read_text()


def test_a_past_publication_is_traced_and_reproduced(home, monkeypatch):
    from trust_assets.cli.lineage import lineage
    from trust_assets.runs.execute import run_months
    from trust_assets.runs.reproduce import reproduce_publication

    monkeypatch.setenv("TRUST_HOME", str(home.root))
    (first,) = run_months(home, ["2025-02"], FEBRUARY_PINS)
    assert first.success, first.message
    (second,) = run_months(home, ["2025-02"])  # latest versions: February's pay has since been corrected
    assert second.success, second.message
    # The second run reused the first's dbt parse (its pins reach dbt in the environment, not in --vars, which
    # would force a whole re-parse), and still read its own pins: version 1 below carries the corrected sources.
    assert "Partial parsing not enabled" in _dbt_log(home, first.run_id)  # the home's first run parses whole
    assert "no changes found, skipping parsing" in _dbt_log(home, second.run_id)

    published = DeltaTable(str(home.published_product(PRODUCT)))
    assert published.version() == 1
    history = {int(h["version"]): h for h in published.history()}
    assert json.loads(history[0]["trust.sources"]) == FEBRUARY_PINS
    assert json.loads(history[1]["trust.sources"])["hmrc/paye_employments"] > 1
    assert history[0]["trust.run_id"] == first.run_id

    traced = CliRunner().invoke(lineage, [PRODUCT, "--version", "0", "--json"])
    assert traced.exit_code == 0, traced.output
    record = json.loads(traced.output)
    assert record["sources"] == FEBRUARY_PINS and record["months"] == ["2025-02"]
    assert record["run_id"] == first.run_id
    # Every blocking (ERROR) check passed; warnings (rows excluded and counted) may have fired.
    assert record["checks"] and all(c["passed"] or c["severity"] == "WARN" for c in record["checks"])
    assert {c["name"] for c in record["checks"]} >= {"candidates/local_labour_market_monthly:expectations",
                                                     "candidates/local_labour_market_monthly:disclosure_compliance",
                                                     "candidates/local_labour_market_monthly:differencing"}

    lines: list[str] = []
    assert reproduce_publication(home, f"{PRODUCT}@0", echo=lines.append), "\n".join(lines)
    assert any("IDENTICAL" in line for line in lines)
    # Reproducing never publishes: analysts still read version 1.
    assert DeltaTable(str(home.published_product(PRODUCT))).version() == 1


def test_reproduce_names_unknown_products_and_versions(home, monkeypatch):
    from trust_assets.runs.reproduce import ReproduceError, publication_entry

    with pytest.raises(ReproduceError, match="unknown product"):
        publication_entry(home, "no_such_product", None)
    with pytest.raises(ReproduceError, match="no version 99"):
        publication_entry(home, PRODUCT, 99)


def test_the_runs_left_valid_lineage_and_a_report(home, monkeypatch):
    """Runs by the test above: every event validates, and it names the pinned versions and published versions."""
    from trust_assets.lib.evaluation.lineage.reading import read_events
    from trust_assets.lib.evaluation.lineage.stages import PUBLISH_JOB
    from trust_assets.lib.evaluation.lineage.validation import validate_event
    from trust_assets.lib.evaluation.report.html import write_report

    monkeypatch.setenv("TRUST_HOME", str(home.root))
    events = read_events(home)
    assert events, "the runs wrote no lineage"
    for event in events:
        validate_event(event)
    completes = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == PUBLISH_JOB]
    assert len(completes) == 2 and {e["eventType"] for e in events} >= {"START", "COMPLETE"}
    first = completes[0]
    assert first["run"]["facets"]["parent"]["run"]["runId"]
    read = {i["name"].rsplit("/", 1)[-1]: i["facets"]["version"]["datasetVersion"] for i in first["inputs"]
            if "version" in i.get("facets", {})}
    assert read["paye_employments"] == str(FEBRUARY_PINS["hmrc/paye_employments"])
    outputs = {o["name"].rsplit("/", 1)[-1]: o for o in first["outputs"]}
    assert outputs[PRODUCT]["facets"]["version"]["datasetVersion"] == "0"
    assert outputs[PRODUCT]["outputFacets"]["outputStatistics"]["rowCount"] > 0
    assert any("dataQualityAssertions" in i.get("inputFacets", {}) for i in first["inputs"])

    report_path, catalog_path = write_report(home, None)
    html = report_path.read_text()
    assert all(name in html for name in (PRODUCT, "sector_region_monthly", "hmrc/paye_employments"))
    assert json.loads(catalog_path.read_text())["@context"]
