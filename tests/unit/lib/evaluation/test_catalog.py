"""The DCAT-3 catalogue: JSON-LD whose keys expand to DCAT / Dublin Core terms, one dataset per source table and
product, each with every field the UK Cross-Government Metadata Exchange Model requires."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from trust_assets.lib.evaluation.catalog import (
    CONTEXT,
    REQUIRED_FIELDS,
    build_catalog,
    expand_term,
    missing_required,
    write_catalog,
)
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES

#: The UK model's slot_uri for each required field (securityClassification has none: the model's own namespace).
EXPECTED_IRIS = {
    "identifier": "http://purl.org/dc/terms/identifier",
    "title": "http://purl.org/dc/terms/title",
    "description": "http://purl.org/dc/terms/description",
    "accessRights": "http://purl.org/dc/terms/accessRights",
    "securityClassification":
        "https://w3id.org/co-cddo/uk-cross-government-metadata-exchange-model/securityClassification",
    "contactPoint": "http://www.w3.org/ns/dcat#contactPoint",
    "creator": "http://purl.org/dc/terms/creator",
    "publisher": "http://purl.org/dc/terms/publisher",
    "licence": "http://purl.org/dc/terms/license",
    "modified": "http://purl.org/dc/terms/modified",
    "version": "http://www.w3.org/ns/dcat#version",
    "updateFrequency": "http://purl.org/dc/terms/accrualPeriodicity",
}


@pytest.fixture
def written(tmp_path: Path) -> TrustPaths:
    paths = TrustPaths(tmp_path)
    for table in SOURCE_TABLES:
        location = str(paths.source_table(table.dept, table.table))
        for _ in range(2):
            write_deltalake(location, pa.Table.from_pylist([{}], schema=table.schema), mode="append")
    for p in PRODUCTS:
        write_deltalake(str(paths.published_product(p.name)), pa.table({"month": ["2024-01-01"], "n": [1]}))
    return paths


def test_context_maps_every_required_field_to_the_uk_model_term() -> None:
    assert {f: expand_term(f) for f in REQUIRED_FIELDS} == EXPECTED_IRIS
    assert expand_term("freq:monthly") == "http://purl.org/cld/freq/monthly"
    assert expand_term("dcat:Dataset") == "http://www.w3.org/ns/dcat#Dataset"
    for key, value in CONTEXT.items():  # every term expands to an absolute IRI
        iri = expand_term(key)
        assert iri.startswith(("http://", "https://")), (key, value, iri)


def test_every_source_and_product_has_every_required_field(written: TrustPaths) -> None:
    catalog = json.loads(write_catalog(written).read_text())
    assert catalog["@type"] == "dcat:Catalog" and catalog["@context"] == CONTEXT
    datasets = {d["@id"]: d for d in catalog["dataset"]}
    assert len(datasets) == len(SOURCE_TABLES) + len(PRODUCTS)
    assert missing_required(catalog) == {}
    for dataset in datasets.values():
        assert dataset["@type"] == "dcat:Dataset"
        for field in REQUIRED_FIELDS:
            assert dataset.get(field), (dataset["@id"], field)
        assert dataset["contactPoint"]["email"].startswith("mailto:")
        assert dataset["updateFrequency"] == "freq:monthly"
        [distribution] = dataset["distribution"]
        assert distribution["@type"] == "dcat:Distribution" and distribution["accessURL"].startswith("file://")
        assert distribution["byteSize"] > 0


def test_versions_and_dates_come_from_the_delta_log(written: TrustPaths) -> None:
    datasets = {d["@id"]: d for d in build_catalog(written)["dataset"]}
    claims = datasets["urn:labour-market-trust:source:dwp/uc_claims"]
    table = DeltaTable(str(written.source_table("dwp", "uc_claims")))
    assert claims["version"] == str(table.version()) == "1"
    newest = max(h["timestamp"] for h in table.history())
    from datetime import UTC, datetime

    assert claims["modified"] == datetime.fromtimestamp(newest // 1000, UTC).isoformat().replace("+00:00", "Z")
    assert claims["creator"][0]["name"] == "Department for Work and Pensions"
    assert claims["licence"] == "DATA_SHARE_AGREEMENT"
    product = datasets[f"urn:labour-market-trust:product:{PRODUCTS[0].name}"]
    assert product["title"] == PRODUCTS[0].title and product["version"] == "0"


def test_unwritten_tables_are_reported_not_invented(tmp_path: Path) -> None:
    catalog = build_catalog(TrustPaths(tmp_path))
    gaps = missing_required(catalog)
    assert len(gaps) == len(SOURCE_TABLES) + len(PRODUCTS)
    assert all(fields == ["modified", "version"] for fields in gaps.values())


def test_catalog_expands_with_pyld_when_available(written: TrustPaths) -> None:
    jsonld = pytest.importorskip("pyld.jsonld", reason="pyld not installed; expansion is checked by hand above")
    expanded = jsonld.expand(build_catalog(written))
    datasets = expanded[0]["http://www.w3.org/ns/dcat#dataset"]
    for dataset in datasets:
        for iri in EXPECTED_IRIS.values():
            assert iri in dataset, (dataset["@id"], iri)
