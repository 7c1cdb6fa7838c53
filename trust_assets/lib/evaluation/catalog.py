"""A DCAT-3 catalogue (JSON-LD) of the department source tables, the published products and the Delta Sharing
service that serves them, to the UK Cross-Government Metadata Exchange Model.

Emitting it from the same registries the Dagster UI shows (sources.py, products.py), the Delta tables' own logs
(versions, commit dates, sizes, the months their statistics cover) and one configuration file for what code cannot
know (``config/catalogue.yaml``: contact points, the service's endpoint, the identifier base) keeps one source of
truth: a renamed product or a new version shows up the next time ``trust report`` runs.

The JSON keys are the UK model's field names (``licence``, ``securityClassification``, ``updateFrequency``...);
the ``@context`` maps each to its DCAT / Dublin Core term, so the file reads like the UK model and expands to
standard DCAT for any JSON-LD 1.1 processor. ``catalog_rules`` holds the model's rules the catalogue is checked by.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import AGREEMENTS_DIR, CATALOGUE_CONFIG, TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, Product
from trust_assets.lib.registry.sources import DEPARTMENTS, SOURCE_TABLES, SourceTable
from trust_assets.lib.storage import as_uri

UKGOV = "https://w3id.org/co-cddo/uk-cross-government-metadata-exchange-model/"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
#: IANA media type of the data files (Delta tables are Parquet files plus a JSON log).
PARQUET = "application/vnd.apache.parquet"
#: EU data theme vocabulary (as DCAT-AP uses): the model's themes are IRIs from a controlled vocabulary.
THEME = "http://publications.europa.eu/resource/authority/data-theme/"
THEMES = {
    "dwp/uc_claims": ("SOCI",), "hmrc/paye_employments": ("ECON",), "dfe/fe_learner_aims": ("EDUC",),
    "beis/business_register": ("ECON",),
    "local_labour_market_monthly": ("ECON", "SOCI"), "sector_region_monthly": ("ECON",),
    "claimant_employment_outcomes": ("SOCI", "ECON"), "skills_employment_outcomes": ("EDUC", "ECON"),
}
#: gov.uk organisation slugs (the UK model's OrganisationValues) for each department.
ORGANISATION_SLUGS = {
    "dwp": "department-for-work-pensions",
    "hmrc": "hm-revenue-customs",
    "dfe": "department-for-education",
    "beis": "department-for-business-energy-and-industrial-strategy",
}

CONTEXT: dict[str, Any] = {
    "@version": 1.1,
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "freq": "http://purl.org/cld/freq/",
    "adms": "http://www.w3.org/ns/adms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "ukgov": UKGOV,
    # UK Cross-Government Metadata Exchange Model field name -> DCAT / Dublin Core term (its slot_uri).
    "identifier": "dct:identifier",
    "title": "dct:title",
    "description": "dct:description",
    "accessRights": "dct:accessRights",
    "securityClassification": "ukgov:securityClassification",  # the model defines no external term for it
    "contactPoint": "dcat:contactPoint",
    "contactName": "vcard:fn",
    "email": {"@id": "vcard:hasEmail", "@type": "@id"},
    "creator": {"@id": "dct:creator", "@type": "@id", "@container": "@set"},
    "publisher": {"@id": "dct:publisher", "@type": "@id"},
    "licence": {"@id": "dct:license", "@type": "@id"},
    "modified": {"@id": "dct:modified", "@type": "xsd:date"},
    "issued": {"@id": "dct:issued", "@type": "xsd:date"},
    "startDate": {"@id": "dcat:startDate", "@type": "xsd:date"},
    "endDate": {"@id": "dcat:endDate", "@type": "xsd:date"},
    "temporal": "dct:temporal",
    "spatial": {"@id": "dct:spatial", "@type": "@id", "@container": "@set"},
    "theme": {"@id": "dcat:theme", "@type": "@id", "@container": "@set"},
    "landingPage": {"@id": "dcat:landingPage", "@type": "@id"},
    "version": "dcat:version",
    "hasVersion": {"@id": "dcat:hasVersion", "@container": "@set"},
    "updateFrequency": {"@id": "dct:accrualPeriodicity", "@type": "@id"},
    "keyword": {"@id": "dcat:keyword", "@container": "@set"},
    "dataset": {"@id": "dcat:dataset", "@container": "@set"},
    "service": {"@id": "dcat:service", "@container": "@set"},
    "distribution": {"@id": "dcat:distribution", "@container": "@set"},
    "accessURL": {"@id": "dcat:accessURL", "@type": "@id"},
    "accessService": {"@id": "dcat:accessService", "@type": "@id"},
    "endpointURL": {"@id": "dcat:endpointURL", "@type": "@id"},
    "endpointDescription": {"@id": "dcat:endpointDescription", "@type": "@id"},
    "servesDataset": {"@id": "dcat:servesDataset", "@type": "@id", "@container": "@set"},
    "serviceType": "dct:type",
    "serviceStatus": "adms:status",
    # the model's context: a media type is type/subtype, resolved against the IANA registry
    "mediaType": {"@id": "dcat:mediaType", "@type": "@id",
                  "@context": {"@base": "https://www.iana.org/assignments/media-types/"}},
    "format": "dct:format",
    "byteSize": {"@id": "dcat:byteSize", "@type": "xsd:nonNegativeInteger"},
    "name": "foaf:name",
    "homepage": {"@id": "foaf:homepage", "@type": "@id"},
}

#: The UK model's required fields for a dcat:Dataset (DataResource + Dataset slot_usage).
REQUIRED_FIELDS = ("identifier", "title", "description", "accessRights", "securityClassification",
                   "contactPoint", "creator", "publisher", "licence", "modified", "version", "updateFrequency")


class CatalogueConfigError(ValueError):
    """The catalogue configuration is missing a field or holds a placeholder."""


def expand_term(term: str, context: Mapping[str, Any] = CONTEXT) -> str:
    """A JSON key or compact IRI as its full IRI under ``context`` (the subset of JSON-LD expansion we use)."""
    value = context.get(term, term)
    iri = value["@id"] if isinstance(value, Mapping) else value
    prefix, sep, rest = str(iri).partition(":")
    if sep and not rest.startswith("//") and isinstance(context.get(prefix), str):
        return context[prefix] + rest
    return str(iri)


def load_config(path: Path | None = None) -> dict[str, Any]:
    """``config/catalogue.yaml`` (or ``$TRUST_CATALOGUE_CONFIG``), checked: real contacts, an endpoint."""
    import yaml

    from trust_assets.lib.evaluation.catalog_rules import placeholder_email

    path = path or Path(os.environ.get("TRUST_CATALOGUE_CONFIG", "").strip() or CATALOGUE_CONFIG)
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    required = ("base_iri", "publisher", "contact_points", "data_service", "access_requests")
    missing = [k for k in required if not config.get(k)]
    missing += [f"contact_points.{k}" for k in ("trust", *DEPARTMENTS) if k not in (config.get("contact_points") or {})]
    if missing:
        raise CatalogueConfigError(f"{path}: missing {', '.join(missing)}")
    for name, contact in config["contact_points"].items():
        if placeholder_email(str(contact.get("email", ""))) or not contact.get("contactName"):
            raise CatalogueConfigError(f"{path}: contact_points.{name} needs a contactName and a real e-mail "
                                       f"(got {contact.get('email')!r})")
    return config


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _delta_facts(path: str) -> dict[str, Any] | None:
    """Versions with their commit dates, size and the dates the data covers, from the Delta log only."""
    from trust_assets.lib.storage import delta_table, is_delta_table

    if not is_delta_table(path):
        return None
    import pyarrow as pa

    table = delta_table(path)
    history = sorted(table.history(), key=lambda h: int(h["version"]))
    actions = pa.table(table.get_add_actions(flatten=True))
    schema = pa.schema(table.schema().to_arrow())
    dated = next((f.name for f in schema if pa.types.is_date(f.type)), None)
    period = None
    if dated and f"min.{dated}" in actions.column_names and actions.num_rows:
        lows = [v for v in actions.column(f"min.{dated}").to_pylist() if v is not None]
        highs = [v for v in actions.column(f"max.{dated}").to_pylist() if v is not None]
        if lows and highs:
            period = (min(lows), max(highs))
    return {
        "version": table.version(),
        "issued_ms": min(int(h["timestamp"]) for h in history),
        "modified_ms": max(int(h["timestamp"]) for h in history),
        "bytes": int(pa.compute.sum(actions["size_bytes"]).as_py() or 0) if actions.num_rows else 0,
        "versions": [(int(h["version"]), int(h["timestamp"]), h.get("trust.months")) for h in history],
        "period": period,
    }


def _contact(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    contact = config["contact_points"][key]
    email = str(contact["email"])
    return {"@type": "vcard:Kind", "contactName": str(contact["contactName"]),
            "email": email if email.startswith("mailto:") else f"mailto:{email}"}


def _department(dept: str) -> dict[str, Any]:
    return {"@id": f"https://www.gov.uk/government/organisations/{ORGANISATION_SLUGS[dept]}",
            "@type": "foaf:Organization", "name": DEPARTMENTS[dept]}


def _trust(config: Mapping[str, Any]) -> dict[str, Any]:
    publisher = config["publisher"]
    out = {"@id": f"{config['base_iri']}organisation:trust", "@type": "foaf:Organization",
           "name": str(publisher.get("name", "Labour Market Data Trust"))}
    if publisher.get("homepage"):
        out["homepage"] = str(publisher["homepage"])
    return out


def _temporal(facts: Mapping[str, Any]) -> dict[str, Any] | None:
    if not facts.get("period"):
        return None
    low, high = facts["period"]
    return {"@type": "dct:PeriodOfTime", "startDate": _as_date(low), "endDate": _as_date(high)}


def _as_date(value: Any) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat() if isinstance(
        value, date) else str(value)[:10]


def _resource(config: Mapping[str, Any], *, identifier: str, title: str, description: str, keywords: list[str],
              themes: tuple[str, ...], contact: dict[str, Any], creator: list[dict[str, Any]],
              publisher: dict[str, Any], licence: str, access: str,
              facts: dict[str, Any] | None) -> dict[str, Any]:
    """The DataResource fields every dataset shares; version and dates only when the table has been written."""
    resource: dict[str, Any] = {
        "@id": identifier,
        "@type": "dcat:Dataset",
        "identifier": identifier,
        "title": title,
        "description": description,
        "accessRights": access,
        "securityClassification": "OFFICIAL",
        "contactPoint": contact,
        "creator": creator,
        "publisher": publisher,
        "licence": licence,
        "updateFrequency": "freq:monthly",
        "keyword": keywords,
        "theme": [THEME + t for t in themes],
        "spatial": [str(config.get("spatial"))] if config.get("spatial") else [],
    }
    if facts is not None:  # a table not written yet has no version or dates to claim
        resource |= {"version": str(facts["version"]), "modified": _date(facts["modified_ms"]),
                     "issued": _date(facts["issued_ms"])}
        temporal = _temporal(facts)
        if temporal:
            resource["temporal"] = temporal
    return resource


def _distribution(base: str, title: str, licence: str, access: str, facts: dict[str, Any] | None,
                  **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": base, "@type": "dcat:Distribution", "identifier": base, "title": title,
                           "mediaType": PARQUET, "format": "Delta Lake", "licence": licence, "accessRights": access,
                           **fields}
    if facts is not None:
        out["modified"] = _date(facts["modified_ms"])
        if facts["bytes"] > 0:  # the UK model requires a positive size; an empty table has no files
            out["byteSize"] = facts["bytes"]
    return out


def _agreement_iri(config: Mapping[str, Any], table: SourceTable) -> str:
    """The data sharing agreement a department table is read under, as an IRI (its licence)."""
    agreement = f"dsa-{table.dept}-trust"
    if not (AGREEMENTS_DIR / f"{agreement}.yaml").exists():
        raise CatalogueConfigError(f"no data sharing agreement {agreement} in {AGREEMENTS_DIR} for {table.key}")
    return f"{config['base_iri']}agreement:{agreement}"


def _source(paths: TrustPaths, config: Mapping[str, Any], table: SourceTable) -> dict[str, Any]:
    location = paths.source_table(table.dept, table.table)
    facts = _delta_facts(location)
    identifier = f"{config['base_iri']}source:{table.key}"
    licence = _agreement_iri(config, table)
    dataset = _resource(
        config, identifier=identifier, title=table.title, description=table.description,
        keywords=[table.dept, table.table, *(c.name for c in table.columns)], themes=THEMES.get(table.key, ()),
        contact=_contact(config, table.dept), creator=[_department(table.dept)], publisher=_department(table.dept),
        licence=licence, access="INTERNAL", facts=facts)
    dataset["distribution"] = [_distribution(
        f"{identifier}/distribution/delta", f"{table.title} (Delta table, read in place)", licence, "INTERNAL",
        facts, description="The department's Delta Lake table: Parquet data files and the _delta_log transaction "
        "log, read in place by the trust under the agreement; never copied.",
        accessURL=as_uri(location))]
    return dataset


def _versions(identifier: str, product: Product, facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dcat:hasVersion entry per published Delta version (a publication, or the table's creation)."""
    out = []
    for version, ms, months in facts["versions"]:
        entry = {"@id": f"{identifier}/version/{version}", "@type": "dcat:Dataset", "version": str(version),
                 "title": f"{product.title}, version {version}", "issued": _date(ms)}
        if months:
            entry["description"] = "Months published in this version: " + ", ".join(json.loads(months))
        out.append(entry)
    return out


def _product(paths: TrustPaths, config: Mapping[str, Any], product: Product, service_id: str) -> dict[str, Any]:
    location = paths.published_product(product.name)
    facts = _delta_facts(location)
    identifier = f"{config['base_iri']}product:{product.name}"
    endpoint = str(config["data_service"]["endpointURL"])
    dataset = _resource(
        config, identifier=identifier, title=product.title,
        description=f"{product.description} One row per {', '.join(product.grain)}. Published only after quality "
        "and disclosure checks pass.",
        keywords=[product.name, "labour market", *product.grain], themes=THEMES.get(product.name, ()),
        contact=_contact(config, "trust"), creator=[_department(d) for d in DEPARTMENTS],
        publisher=_trust(config), licence=OGL, access="OPEN", facts=facts)
    if config.get("landing_page"):
        dataset["landingPage"] = str(config["landing_page"])
    dataset["distribution"] = [_distribution(
        f"{identifier}/distribution/delta-sharing", f"{product.title} (Delta Sharing)", OGL, "OPEN", facts,
        description=f"Table products.default.{product.name} of the trust's Delta Sharing service, for any "
        "Delta Sharing client with a recipient profile (see docs/sharing.md, 'Requesting access').",
        accessURL=endpoint, accessService=service_id)]
    if facts is not None:
        dataset["hasVersion"] = _versions(identifier, product, facts)
    return dataset


def _service(config: Mapping[str, Any], service_id: str, products: list[dict[str, Any]]) -> dict[str, Any]:
    service = config["data_service"]
    modified = max((p["modified"] for p in products if p.get("modified")), default=None)
    out: dict[str, Any] = {
        "@id": service_id, "@type": "dcat:DataService", "identifier": service_id,
        "title": "Labour Market Data Trust Delta Sharing service",
        "description": "Delta Sharing (REST) endpoint serving the published products, one share 'products', "
        f"to recipients with a profile; access is requested from {config['access_requests']}.",
        "endpointURL": str(service["endpointURL"]), "endpointDescription": str(service["endpointDescription"]),
        "serviceType": str(service.get("serviceType", "REST")), "serviceStatus": str(service.get("serviceStatus",
                                                                                                 "BETA")),
        "servesDataset": [p["@id"] for p in products],
        "accessRights": "OPEN", "securityClassification": "OFFICIAL", "contactPoint": _contact(config, "trust"),
        "creator": [_trust(config)], "publisher": _trust(config), "licence": OGL, "version": "1",
        "keyword": ["delta sharing", "labour market"], "theme": [THEME + "ECON"],
    }
    if modified:
        out["modified"] = modified
    return out


def build_catalog(paths: TrustPaths, *, generated: datetime | None = None,
                  config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The catalogue as a JSON-LD document (a dict)."""
    config = config or load_config()
    service_id = f"{config['base_iri']}service:delta-sharing"
    datasets = [_source(paths, config, t) for t in SOURCE_TABLES]
    products = [_product(paths, config, p, service_id) for p in PRODUCTS]
    generated = generated or datetime.now(UTC)
    return {
        "@context": CONTEXT,
        "@id": f"{config['base_iri']}catalog",
        "@type": "dcat:Catalog",
        "identifier": f"{config['base_iri']}catalog",
        "title": "Labour Market Data Trust catalogue",
        "description": "Department source tables the trust reads in place, the labour market data products it "
        "publishes and the Delta Sharing service that serves them.",
        "publisher": _trust(config),
        "modified": generated.date().isoformat(),
        "dataset": datasets + products,
        "service": [_service(config, service_id, products)],
    }


def missing_required(catalog: Mapping[str, Any]) -> dict[str, list[str]]:
    """Dataset id -> required UK-model fields it lacks (e.g. ``modified`` for a table never written)."""
    out = {}
    for dataset in catalog.get("dataset", []):
        missing = [f for f in REQUIRED_FIELDS if dataset.get(f) in (None, "", [], {})]
        if missing:
            out[str(dataset.get("@id"))] = missing
    return out


def write_catalog(paths: TrustPaths, out: Path | None = None) -> Path:
    out = out or paths.reports / "catalog.jsonld"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".jsonld.tmp")
    tmp.write_text(json.dumps(build_catalog(paths), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out
