"""The DCAT-3 catalogue: JSON-LD whose keys expand to DCAT / Dublin Core terms, one dataset per source table and
product, each with every field the UK Cross-Government Metadata Exchange Model requires."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from deltalake import CommitProperties, DeltaTable, write_deltalake

from trust_assets.lib.evaluation.catalog import (
    CONTEXT,
    OGL,
    REQUIRED_FIELDS,
    THEME,
    CatalogueConfigError,
    build_catalog,
    expand_term,
    load_config,
    missing_required,
    write_catalog,
)
from trust_assets.lib.evaluation.catalog_rules import catalog_problems, placeholder_email
from trust_assets.lib.paths import CATALOGUE_CONFIG, TrustPaths
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
        location = str(paths.published_product(p.name))
        for month in (date(2025, 1, 1), date(2025, 2, 1)):
            write_deltalake(location, pa.table({p.month_column: [month], "n": [1]}), mode="append",
                            commit_properties=CommitProperties(custom_metadata={
                                "trust.months": json.dumps([month.isoformat()[:7]])}))
    return paths


def test_context_maps_every_required_field_to_the_uk_model_term() -> None:
    assert {f: expand_term(f) for f in REQUIRED_FIELDS} == EXPECTED_IRIS
    assert expand_term("freq:monthly") == "http://purl.org/cld/freq/monthly"
    assert expand_term("dcat:Dataset") == "http://www.w3.org/ns/dcat#Dataset"
    for key, value in CONTEXT.items():  # every term expands to an absolute IRI
        if key.startswith("@"):  # keywords (@version), not terms
            continue
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
        assert not placeholder_email(dataset["contactPoint"]["email"])
        assert dataset["updateFrequency"] == "freq:monthly"
        [distribution] = dataset["distribution"]
        assert distribution["@type"] == "dcat:Distribution" and distribution["byteSize"] > 0


def test_the_catalogue_conforms_to_the_uk_model(written: TrustPaths) -> None:
    assert catalog_problems(build_catalog(written)) == []


def test_dates_are_dates_licences_are_iris_and_media_types_are_iana(written: TrustPaths) -> None:
    catalog = build_catalog(written)
    for record in [catalog, *catalog["dataset"], *catalog["service"]]:
        for field in ("modified", "issued"):
            if field in record:
                assert date.fromisoformat(record[field]) and len(record[field]) == 10, (record["@id"], field)
    for dataset in catalog["dataset"]:
        assert dataset["licence"].startswith(("https://", "urn:")), dataset["licence"]  # never a bare word
        assert dataset["distribution"][0]["mediaType"] == "application/vnd.apache.parquet"
    products = [d for d in catalog["dataset"] if ":product:" in d["@id"]]
    sources = [d for d in catalog["dataset"] if ":source:" in d["@id"]]
    assert {d["accessRights"] for d in products} == {"OPEN"} and {d["licence"] for d in products} == {OGL}
    assert {d["accessRights"] for d in sources} == {"INTERNAL"}
    assert {d["licence"] for d in sources} == {f"urn:labour-market-trust:agreement:dsa-{t.dept}-trust"
                                               for t in SOURCE_TABLES}
    media = CONTEXT["mediaType"]  # type/subtype resolves against the IANA registry, as in the model's context
    assert media["@context"]["@base"] == "https://www.iana.org/assignments/media-types/"


def test_products_have_a_service_versions_period_place_and_themes(written: TrustPaths) -> None:
    catalog = build_catalog(written)
    [service] = catalog["service"]
    products = {d["@id"]: d for d in catalog["dataset"] if ":product:" in d["@id"]}
    assert service["@type"] == "dcat:DataService" and service["endpointURL"].endswith("/delta-sharing")
    assert set(service["servesDataset"]) == set(products)
    for product in products.values():
        [distribution] = product["distribution"]
        assert distribution["accessService"] == service["@id"] and distribution["accessURL"] == service["endpointURL"]
        assert product["temporal"] == {"@type": "dct:PeriodOfTime", "startDate": "2025-01-01",
                                       "endDate": "2025-02-01"}
        assert product["spatial"] == ["http://statistics.data.gov.uk/id/statistical-geography/K02000001"]
        assert product["theme"] and all(t.startswith(THEME) for t in product["theme"])
        versions = product["hasVersion"]
        assert [v["version"] for v in versions] == ["0", "1"] and versions[1]["description"].endswith("2025-02")


def test_versions_and_dates_come_from_the_delta_log(written: TrustPaths) -> None:
    datasets = {d["@id"]: d for d in build_catalog(written)["dataset"]}
    claims = datasets["urn:labour-market-trust:source:dwp/uc_claims"]
    table = DeltaTable(str(written.source_table("dwp", "uc_claims")))
    assert claims["version"] == str(table.version()) == "1"
    newest = max(h["timestamp"] for h in table.history())
    from datetime import UTC, datetime

    assert claims["modified"] == datetime.fromtimestamp(newest / 1000, UTC).date().isoformat()
    assert claims["creator"][0]["name"] == "Department for Work and Pensions"
    product = datasets[f"urn:labour-market-trust:product:{PRODUCTS[0].name}"]
    assert product["title"] == PRODUCTS[0].title and product["version"] == "1"


def test_unwritten_tables_are_reported_not_invented(tmp_path: Path) -> None:
    catalog = build_catalog(TrustPaths(tmp_path))
    gaps = missing_required(catalog)
    assert len(gaps) == len(SOURCE_TABLES) + len(PRODUCTS)
    assert all(fields == ["modified", "version"] for fields in gaps.values())


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda d: d.update(modified="2025-01-01T10:00:00Z"), "modified"),              # dateTime, not a date
    (lambda d: d.update(licence="DATA_SHARE_AGREEMENTS"), "licence"),
    (lambda d: d["distribution"][0].update(mediaType="CSV"), "mediaType"),         # the model's invalid examples
    (lambda d: d["distribution"][0].update(mediaType="https://w3id.org/uri4uri/mime/text/csv"), "mediaType"),
    (lambda d: d.update(updateFrequency="freq:fortnightly"), "updateFrequency"),
    (lambda d: d.update(accessRights="PUBLIC"), "accessRights"),
    (lambda d: d.pop("theme"), "'theme' is a required property"),
    (lambda d: d["contactPoint"].update(email="mailto:data@trust.invalid"), "placeholder"),
    (lambda d: d["distribution"][0].update(byteSize=0), "byteSize"),
])
def test_the_model_rules_catch_what_they_should(written: TrustPaths, breakage, message: str) -> None:
    catalog = build_catalog(written)
    breakage(catalog["dataset"][-1])
    problems = catalog_problems(catalog)
    assert problems and any(message in p for p in problems), problems


def test_a_data_service_needs_its_endpoint_and_datasets(written: TrustPaths) -> None:
    catalog = build_catalog(written)
    catalog["service"][0].pop("endpointURL")
    catalog["service"][0]["servesDataset"].append("urn:labour-market-trust:product:nope")
    problems = " | ".join(catalog_problems(catalog))
    assert "'endpointURL' is a required property" in problems and "product:nope" in problems


def test_placeholder_contacts_in_configuration_are_refused(tmp_path: Path) -> None:
    config = yaml.safe_load(CATALOGUE_CONFIG.read_text())
    config["contact_points"]["dwp"]["email"] = "dwp-data@labour-market-trust.invalid"
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(CatalogueConfigError, match=r"contact_points\.dwp needs a contactName and a real e-mail"):
        load_config(path)
    del config["data_service"]
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(CatalogueConfigError, match="missing data_service"):
        load_config(path)


def test_catalog_expands_with_pyld_when_available(written: TrustPaths) -> None:
    jsonld = pytest.importorskip("pyld.jsonld", reason="pyld not installed; expansion is checked by hand above")
    expanded = jsonld.expand(build_catalog(written))
    datasets = expanded[0]["http://www.w3.org/ns/dcat#dataset"]
    for dataset in datasets:
        for iri in EXPECTED_IRIS.values():
            assert iri in dataset, (dataset["@id"], iri)
