"""docs/products.md's column tables are generated from the dbt marts and must be current."""

from __future__ import annotations

import json

import pytest

from trust_assets.lib.evaluation.data_dictionary import DOC, render
from trust_assets.lib.paths import DBT_PROJECT_DIR
from trust_assets.lib.registry.products import PRODUCTS


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def test_products_page_matches_the_marts(manifest):
    assert render(DOC.read_text(), manifest) == DOC.read_text(), (
        "docs/products.md is stale: run `python -m trust_assets.lib.evaluation.data_dictionary`")


def test_every_published_column_is_documented_with_its_contract_type(manifest):
    doc = DOC.read_text()
    for p in PRODUCTS:
        columns = manifest["nodes"][f"model.labour_market_trust.{p.name}"]["columns"]
        for name, column in columns.items():
            if name.startswith("sdc_"):
                continue
            assert column.get("description"), f"{p.name}.{name} has no description in the marts' YAML"
            assert f"| {name} | {column['data_type']} |" in doc


def test_a_changed_description_changes_the_page(manifest):
    edited = json.loads(json.dumps(manifest))
    node = edited["nodes"][f"model.labour_market_trust.{PRODUCTS[0].name}"]
    node["columns"]["uc_claimants"]["description"] = "Edited | with a pipe."
    assert "| uc_claimants | bigint | Edited \\| with a pipe. |" in render(DOC.read_text(), edited)
