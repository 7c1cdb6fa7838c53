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


def test_a_past_publication_is_traced_and_reproduced(home, monkeypatch):
    from trust_assets.lib.lineage_cli import lineage
    from trust_assets.reproduce import reproduce_publication
    from trust_assets.runner import run_months

    monkeypatch.setenv("TRUST_HOME", str(home.root))
    (first,) = run_months(["2025-02"], FEBRUARY_PINS)
    assert first.success, first.message
    (second,) = run_months(["2025-02"])  # latest versions: February's pay has since been corrected
    assert second.success, second.message

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
    assert record["checks"] and all(check["passed"] for check in record["checks"])

    lines: list[str] = []
    assert reproduce_publication(f"{PRODUCT}@0", echo=lines.append), "\n".join(lines)
    assert any("IDENTICAL" in line for line in lines)
    # Reproducing never publishes: analysts still read version 1.
    assert DeltaTable(str(home.published_product(PRODUCT))).version() == 1


def test_reproduce_names_unknown_products_and_versions(home, monkeypatch):
    import click

    from trust_assets.reproduce import publication_entry

    monkeypatch.setenv("TRUST_HOME", str(home.root))
    with pytest.raises(KeyError, match="unknown product"):
        publication_entry("no_such_product", None)
    with pytest.raises(click.ClickException, match="no version 99"):
        publication_entry(PRODUCT, 99)
