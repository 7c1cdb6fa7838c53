"""Request helpers shared by the routes: authentication, agreement look-up, paging and protocol responses.

Each helper records what it learned (recipient, share, agreement, version) in the request's audit record, so the
access log says as much about a refused request as about a served one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from trust_assets.sharing.agreements import Agreement, SharedTable
from trust_assets.sharing.rules import RuleError
from trust_assets.sharing.state import CAPABILITIES_HEADER, MAX_PAGE, NDJSON, VERSION_HEADER, SharingError, SharingState
from trust_assets.sharing.tables import Snapshot, SourceFile, Terms


def audit(request: Request, **fields: Any) -> None:
    request.state.audit.update({k: v for k, v in fields.items() if v is not None})


def authenticate(state: SharingState, request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    identity = state.recipients.authenticate(token)
    audit(request, recipient=identity.recipient)
    if identity.refusal:
        raise SharingError(401, "UNAUTHENTICATED", identity.refusal)
    assert identity.recipient is not None
    return identity.recipient


def agreement_for(state: SharingState, request: Request, recipient: str, share: str) -> Agreement:
    share = share.lower()
    audit(request, share=share)
    agreements = state.agreements
    agreement = agreements.find(recipient, share)
    if agreement is None:
        if agreements.share_exists(share):
            raise SharingError(403, "PERMISSION_DENIED", f"share {share} is not granted to recipient {recipient}")
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"share {share} does not exist")
    audit(request, agreement=agreement.id)
    refusal = agreement.refusal(state.config.today())
    if refusal:
        raise SharingError(403, "PERMISSION_DENIED", refusal)
    return agreement


def shared_table(state: SharingState, request: Request, share: str, schema: str, table: str
           ) -> tuple[Agreement, SharedTable, Path]:
    recipient = authenticate(state, request)
    agreement = agreement_for(state, request, recipient, share)
    audit(request, schema=schema.lower(), table=table.lower())
    shared = agreement.table(schema, table)
    if shared is None:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST",
                           f"table {share}.{schema}.{table} does not exist in agreement {agreement.id}")
    return agreement, shared, state.agreements.source_path(shared)


def check_format(request: Request) -> bool:
    """Whether the client asked about formats; only parquet is served (a delta-only request is refused)."""
    raw = request.headers.get(CAPABILITIES_HEADER)
    if not raw:
        return False
    for part in raw.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "responseformat":
            formats = {v.strip().lower() for v in value.split(",") if v.strip()}
            if formats and "parquet" not in formats:
                raise SharingError(400, "UNSUPPORTED_RESPONSE_FORMAT",
                                   f"responseformat={value.strip()} is not supported: this server answers in "
                                   "parquet format only (omit use_delta_format or set it to False)")
    return True


def paginate(items: list[dict], max_results: int | None, page_token: str | None) -> dict:
    offset = 0
    if page_token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(page_token.encode() + b"==").decode())["o"])
            if offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "pageToken is not one this server issued") from None
    size = MAX_PAGE if max_results is None else min(max_results, MAX_PAGE)
    page = items[offset:offset + size]
    body: dict[str, Any] = {"items": page}
    if offset + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode().rstrip("=")
    return body


def ndjson(lines: Iterable[dict], version: int, formats_requested: bool) -> Response:
    headers = {VERSION_HEADER: str(version)}
    if formats_requested:
        headers[CAPABILITIES_HEADER] = "responseformat=parquet"
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return Response(body, media_type=NDJSON, headers=headers)


def terms_for(agreement: Agreement, shared: SharedTable, snap: Snapshot) -> Terms:
    return Terms(agreement_id=agreement.id, columns=tuple(shared.permitted(snap.schema.names)),
                 rules=shared.row_rules)


def metadata_line(snap: Snapshot, terms: Terms, with_version: bool) -> dict:
    permitted = set(terms.columns)
    fields = [f for f in snap.delta_schema["fields"] if f["name"] in permitted]
    meta: dict[str, Any] = {
        "id": snap.table_id, "format": {"provider": "parquet"},
        "schemaString": json.dumps({"type": "struct", "fields": fields}, separators=(",", ":")),
        "partitionColumns": [c for c in snap.partition_columns if c in permitted],
        "configuration": {},
    }
    # The protocol's optional name and description: what the table says about itself (from the dbt YAML).
    meta.update({k: v for k, v in (("name", snap.name), ("description", snap.description)) if v})
    if with_version:
        meta["version"] = snap.version
    return {"metaData": meta}


def file_entry(state: SharingState, request: Request, recipient: str, terms: Terms, source: SourceFile,
                projected, partition_columns: list[str]) -> dict:
    path = f"{state.config.prefix}/files/{projected.key}.parquet"
    base = state.config.public_url or str(request.base_url).rstrip("/")
    url, expires = state.signer.sign(base, path, recipient, terms.agreement_id)
    entry: dict[str, Any] = {
        "url": url, "id": projected.key, "size": projected.size,
        "partitionValues": {k: v for k, v in source.partition_values.items()
                            if k in partition_columns and k in terms.columns},
        "stats": json.dumps({"numRecords": projected.num_rows}),
        "expirationTimestamp": expires,
    }
    if source.version is not None:
        entry["version"] = source.version
    if source.timestamp is not None:
        entry["timestamp"] = source.timestamp
    return entry


def project(state: SharingState, table_root: Path, source: SourceFile, snap: Snapshot, terms: Terms):
    try:
        return state.projector.project(table_root, source, snap.schema, terms)
    except RuleError as exc:
        raise SharingError(500, "AGREEMENT_MISCONFIGURED",
                           f"agreement {terms.agreement_id} cannot be applied to this table: {exc}") from None


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    predicateHints: list[str] | None = None  # deprecated SQL hints: accepted and ignored (best effort)
    jsonPredicateHints: str | dict | None = None
    limitHint: int | None = Field(default=None, ge=0)
    version: int | None = Field(default=None, ge=0)
    timestamp: str | None = None
    startingVersion: int | None = Field(default=None, ge=0)
    endingVersion: int | None = Field(default=None, ge=0)
