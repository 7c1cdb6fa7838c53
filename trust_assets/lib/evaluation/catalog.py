"""A DCAT-3 catalogue (JSON-LD) of every department source table and every published product.

Cross-government data marketplaces describe data assets with the UK Cross-Government Metadata Exchange Model, a
DCAT-3 profile. Emitting it from the same registries the Dagster UI shows (sources.py, products.py) plus the
Delta tables' own versions and commit times keeps one source of truth: a renamed product or a new version shows
up in the catalogue the next time ``trust report`` runs, with no hand-kept metadata to drift.

The JSON keys are the UK model's field names (``licence``, ``securityClassification``, ``updateFrequency``...);
the ``@context`` maps each to its DCAT / Dublin Core term (``dct:license``, ``dct:accrualPeriodicity``...), so the
file reads like the UK model and expands to standard DCAT for any JSON-LD processor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import DEPARTMENTS, SOURCE_TABLES

#: Base for the identifiers the trust mints (no public web address yet; replace when it has one).
BASE = "urn:labour-market-trust:"
#: Placeholder mail domain for team mailboxes until real ones are agreed.
CONTACT_DOMAIN = "labour-market-trust.invalid"
UKGOV = "https://w3id.org/co-cddo/uk-cross-government-metadata-exchange-model/"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
PARQUET = "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet"

#: gov.uk organisation slugs (the UK model's OrganisationValues) for each department.
ORGANISATION_SLUGS = {
    "dwp": "department-for-work-pensions",
    "hmrc": "hm-revenue-customs",
    "dfe": "department-for-education",
    "beis": "department-for-business-energy-and-industrial-strategy",
}
TRUST_ORGANISATION = {"@id": f"{BASE}organisation:trust", "@type": "foaf:Organization",
                      "name": "Labour Market Data Trust"}

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "freq": "http://purl.org/cld/freq/",
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
    "licence": "dct:license",
    "modified": {"@id": "dct:modified", "@type": "xsd:dateTime"},
    "issued": {"@id": "dct:issued", "@type": "xsd:dateTime"},
    "version": "dcat:version",
    "updateFrequency": {"@id": "dct:accrualPeriodicity", "@type": "@id"},
    "keyword": {"@id": "dcat:keyword", "@container": "@set"},
    "dataset": {"@id": "dcat:dataset", "@container": "@set"},
    "distribution": {"@id": "dcat:distribution", "@container": "@set"},
    "accessURL": {"@id": "dcat:accessURL", "@type": "@id"},
    "mediaType": {"@id": "dcat:mediaType", "@type": "@id"},
    "format": "dct:format",
    "byteSize": {"@id": "dcat:byteSize", "@type": "xsd:nonNegativeInteger"},
    "name": "foaf:name",
}

#: The UK model's required fields for a dcat:Dataset (DataResource + Dataset slot_usage).
REQUIRED_FIELDS = ("identifier", "title", "description", "accessRights", "securityClassification",
                   "contactPoint", "creator", "publisher", "licence", "modified", "version", "updateFrequency")


def expand_term(term: str, context: Mapping[str, Any] = CONTEXT) -> str:
    """A JSON key or compact IRI as its full IRI under ``context`` (the subset of JSON-LD expansion we use)."""
    value = context.get(term, term)
    iri = value["@id"] if isinstance(value, Mapping) else value
    prefix, sep, rest = iri.partition(":")
    if sep and not rest.startswith("//") and isinstance(context.get(prefix), str):
        return context[prefix] + rest
    return iri


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _delta_facts(path: Path) -> dict[str, Any] | None:
    """Current version, first and latest commit times and size, read from the Delta log only."""
    if not (path / "_delta_log").is_dir():
        return None
    import pyarrow as pa
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    history = table.history()
    actions = pa.table(table.get_add_actions(flatten=True))
    return {
        "version": table.version(),
        "issued_ms": min(int(h["timestamp"]) for h in history),
        "modified_ms": max(int(h["timestamp"]) for h in history),
        "bytes": int(pa.compute.sum(actions["size_bytes"]).as_py() or 0),
    }


def _contact(team: str, name: str) -> dict[str, Any]:
    return {"@type": "vcard:Kind", "contactName": name, "email": f"mailto:{team}@{CONTACT_DOMAIN}"}


def _department(dept: str) -> dict[str, Any]:
    return {"@id": f"https://www.gov.uk/government/organisations/{ORGANISATION_SLUGS[dept]}",
            "@type": "foaf:Organization", "name": DEPARTMENTS[dept]}


def _dataset(*, identifier: str, title: str, description: str, keywords: list[str], contact: dict[str, Any],
             creator: dict[str, Any], publisher: dict[str, Any], licence: Any, location: Path,
             facts: dict[str, Any] | None) -> dict[str, Any]:
    dataset: dict[str, Any] = {
        "@id": identifier,
        "@type": "dcat:Dataset",
        "identifier": identifier,
        "title": title,
        "description": description,
        "accessRights": "INTERNAL",  # shared only under data sharing agreements, never open data
        "securityClassification": "OFFICIAL",
        "contactPoint": contact,
        "creator": [creator],
        "publisher": publisher,
        "licence": licence,
        "updateFrequency": "freq:monthly",
        "keyword": keywords,
    }
    distribution: dict[str, Any] = {
        "@id": f"{identifier}/distribution/delta",
        "@type": "dcat:Distribution",
        "identifier": f"{identifier}/distribution/delta",
        "title": f"{title} (Delta table)",
        "description": "Delta Lake table read in place: Parquet data files plus the _delta_log transaction log.",
        "accessURL": location.resolve().as_uri(),
        "mediaType": PARQUET,
        "format": "Delta Lake",
        "accessRights": "INTERNAL",
        "licence": licence,
    }
    if facts is not None:  # a table not written yet has no version or dates to claim
        dataset |= {"version": str(facts["version"]), "modified": _iso(facts["modified_ms"]),
                    "issued": _iso(facts["issued_ms"])}
        distribution["modified"] = _iso(facts["modified_ms"])
        if facts["bytes"] > 0:  # the UK model requires a positive size; an empty table has no files
            distribution["byteSize"] = facts["bytes"]
    dataset["distribution"] = [distribution]
    return dataset


def build_catalog(paths: TrustPaths, *, generated: datetime | None = None) -> dict[str, Any]:
    """The catalogue as a JSON-LD document (a dict)."""
    datasets = []
    for table in SOURCE_TABLES:
        location = paths.source_table(table.dept, table.table)
        team = table.owner.removeprefix("team:")
        datasets.append(_dataset(
            identifier=f"{BASE}source:{table.key}",
            title=table.title,
            description=table.description,
            keywords=[table.dept, table.table, *(c.name for c in table.columns)],
            contact=_contact(team, f"{DEPARTMENTS[table.dept]} data team"),
            creator=_department(table.dept),
            publisher=_department(table.dept),
            licence="DATA_SHARE_AGREEMENT",  # the UK model's value for data governed by a sharing agreement
            location=location,
            facts=_delta_facts(location),
        ))
    for p in PRODUCTS:
        location = paths.published_product(p.name)
        datasets.append(_dataset(
            identifier=f"{BASE}product:{p.name}",
            title=p.title,
            description=f"{p.description} One row per {', '.join(p.grain)}. Published only after quality and "
            "disclosure checks pass.",
            keywords=[p.name, "labour market", *p.grain],
            contact=_contact("trust-data", "Labour Market Data Trust data team"),
            creator=TRUST_ORGANISATION,
            publisher=TRUST_ORGANISATION,
            licence={"@id": OGL},
            location=location,
            facts=_delta_facts(location),
        ))
    generated = generated or datetime.now(UTC)
    return {
        "@context": CONTEXT,
        "@id": f"{BASE}catalog",
        "@type": "dcat:Catalog",
        "identifier": f"{BASE}catalog",
        "title": "Labour Market Data Trust catalogue",
        "description": "Department source tables the trust reads in place and the labour market data products "
        "it publishes.",
        "publisher": TRUST_ORGANISATION,
        "modified": generated.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "dataset": datasets,
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
