"""The UK Cross-Government Metadata Exchange Model's rules, as JSON Schema, for the catalogue the trust writes.

Transcribed from the model (CDDO, LinkML, ``uk_cross_government_metadata_exchange_model.yaml``; the marketplace's
JSON Schemas ``cddo-data-resource``, ``-dataset``, ``-data-service``, ``-distribution``): the required slots of
DataResource, Dataset, DataService, Distribution and ContactPoint; the enumerations (access rights, security
classification, Dublin Core frequency, service status and type); ``issued``/``modified`` in the ``date`` range (not
dateTime); ``licence`` an IRI (or the model's ``DATA_SHARE_AGREEMENT``, which the trust does not use: it names the
agreement's IRI instead); ``mediaType`` an IANA ``type/subtype`` as in the model's valid examples (``text/csv``;
``CSV`` and ``https://w3id.org/uri4uri/mime/text/csv`` are its invalid ones), expanded against the IANA registry
by the model's JSON-LD context; the ContactPoint e-mail pattern; ``byteSize`` at least 1.

Two deliberate departures, said here so they are not mistaken for oversights: ``creator``/``publisher`` range over
gov.uk organisations, and the trust is not one, so the trust's products name it as publisher by its own IRI; and
every date field is checked as a date, including the catalogue's own ``modified``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

ACCESS_RIGHTS = ("INTERNAL", "OPEN", "COMMERCIAL")
SECURITY_CLASSIFICATIONS = ("OFFICIAL", "SECRET", "TOP_SECRET", "NOT_APPLICABLE")
FREQUENCIES = tuple(f"freq:{f}" for f in (
    "triennial", "biennial", "annual", "semiannual", "threeTimesAYear", "quarterly", "bimonthly", "monthly",
    "semimonthly", "biweekly", "threeTimesAMonth", "weekly", "semiweekly", "threeTimesAWeek", "daily", "continuous",
    "irregular"))
SERVICE_STATUSES = ("DISCOVERY", "ALPHA", "BETA", "PRIVATE_BETA", "PUBLIC_BETA", "LIVE", "DEPRECATED", "WITHDRAWN")
SERVICE_TYPES = ("EVENT", "REST", "SOAP")
#: RFC 6838 type/subtype (the IANA registry's top-level types).
MEDIA_TYPE_PATTERN = (r"^(application|audio|font|haptics|image|message|model|multipart|text|video)/"
                      r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
EMAIL_PATTERN = r"^(mailto:)?\S+@[\S+\.]+\S+"
#: Mail domains reserved for examples and tests (RFC 2606, RFC 6761): never a real contact point.
PLACEHOLDER_DOMAINS = (".invalid", ".example", ".test", ".localhost", "example.com", "example.org", "example.net")

_IRI = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$"}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_ONE_OR_MANY_IRIS = {"oneOf": [_IRI, {"type": "array", "minItems": 1, "items": _IRI}]}
_ORG = {"oneOf": [_IRI, {"type": "object", "required": ["@id"], "properties": {"@id": _IRI}}]}

CONTACT_POINT = {
    "type": "object",
    "required": ["contactName", "email"],
    "properties": {"contactName": {"type": "string", "minLength": 1},
                   "email": {"type": "string", "pattern": EMAIL_PATTERN}},
}

DATA_RESOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["@id", "@type", "identifier", "title", "description", "accessRights", "securityClassification",
                 "contactPoint", "creator", "publisher", "licence", "modified", "version", "keyword", "theme",
                 "issued"],
    "properties": {
        "@id": _IRI,
        "identifier": _IRI,
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "accessRights": {"enum": list(ACCESS_RIGHTS)},
        "securityClassification": {"enum": list(SECURITY_CLASSIFICATIONS)},
        "contactPoint": CONTACT_POINT,
        "creator": {"oneOf": [_ORG, {"type": "array", "minItems": 1, "items": _ORG}]},
        "publisher": _ORG,
        "licence": {"anyOf": [_IRI, {"const": "DATA_SHARE_AGREEMENT"},
                              {"type": "object", "required": ["@id"], "properties": {"@id": _IRI}}]},
        "issued": _DATE,
        "modified": _DATE,
        "created": _DATE,
        "version": {"type": "string", "minLength": 1},
        "keyword": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "theme": _ONE_OR_MANY_IRIS,
        "relatedResource": _ONE_OR_MANY_IRIS,
    },
}

DISTRIBUTION = {
    "type": "object",
    "required": ["@type", "identifier", "title", "mediaType", "licence"],
    "properties": {
        "@type": {"const": "dcat:Distribution"},
        "identifier": _IRI,
        "title": {"type": "string", "minLength": 1},
        "mediaType": {"type": "string", "pattern": MEDIA_TYPE_PATTERN},
        "licence": DATA_RESOURCE["properties"]["licence"],
        "accessRights": {"enum": list(ACCESS_RIGHTS)},
        "accessService": _ONE_OR_MANY_IRIS,
        "byteSize": {"type": "integer", "minimum": 1},
        "issued": _DATE,
        "modified": _DATE,
        "downloadURL": _IRI,
        "accessURL": _IRI,
    },
}

DATASET = {
    "allOf": [DATA_RESOURCE],
    "required": ["distribution", "updateFrequency"],
    "properties": {
        "@type": {"const": "dcat:Dataset"},
        "updateFrequency": {"enum": list(FREQUENCIES)},
        "distribution": {"type": "array", "minItems": 1, "items": DISTRIBUTION},
        "hasVersion": {"type": "array", "items": {
            "type": "object", "required": ["@id", "version", "issued"],
            "properties": {"@id": _IRI, "version": {"type": "string"}, "issued": _DATE, "modified": _DATE}}},
        "temporal": {"type": "object", "required": ["startDate", "endDate"],
                     "properties": {"startDate": _DATE, "endDate": _DATE}},
        "spatial": _ONE_OR_MANY_IRIS,
    },
}

DATA_SERVICE = {
    "allOf": [{**DATA_RESOURCE, "required": [r for r in DATA_RESOURCE["required"] if r != "issued"]}],
    "required": ["endpointURL", "endpointDescription", "serviceType", "serviceStatus", "servesDataset"],
    "properties": {
        "@type": {"const": "dcat:DataService"},
        "endpointURL": _IRI,
        "endpointDescription": _IRI,
        "serviceType": {"enum": list(SERVICE_TYPES)},
        "serviceStatus": {"enum": list(SERVICE_STATUSES)},
        "servesDataset": {"type": "array", "minItems": 1, "items": _IRI},
    },
}


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = {"dataset": DATASET, "service": DATA_SERVICE, "contact": CONTACT_POINT}[kind]
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _errors(kind: str, record: Mapping[str, Any], where: str) -> list[str]:
    out = []
    for err in sorted(_validator(kind).iter_errors(record), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        out.append(f"{where}{'.' + path if path else ''}: {err.message}")
    return out


def placeholder_email(email: str) -> bool:
    domain = email.removeprefix("mailto:").rpartition("@")[2].lower()
    return not domain or domain == "localhost" or any(domain.endswith(d) for d in PLACEHOLDER_DOMAINS)


def catalog_problems(catalog: Mapping[str, Any]) -> list[str]:
    """Every way the catalogue breaks the model's rules (empty when it conforms)."""
    problems: list[str] = []
    if not _is_date(catalog.get("modified")):
        problems.append("catalog.modified: not a date")
    ids = {d.get("@id") for d in catalog.get("dataset", [])}
    for dataset in catalog.get("dataset", []):
        where = str(dataset.get("@id"))
        problems += _errors("dataset", dataset, where)
        email = str((dataset.get("contactPoint") or {}).get("email", ""))
        if email and placeholder_email(email):
            problems.append(f"{where}.contactPoint.email: {email} is a placeholder domain")
    for service in catalog.get("service", []):
        where = str(service.get("@id"))
        problems += _errors("service", service, where)
        unknown = sorted(set(service.get("servesDataset") or []) - ids)
        if unknown:
            problems.append(f"{where}.servesDataset: not datasets of this catalogue: {', '.join(unknown)}")
    return problems


def _is_date(value: Any) -> bool:
    from datetime import date

    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10
