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

from trust_assets.sharing.agreements import Agreement, AgreementSet, SharedTable
from trust_assets.sharing.limits import MAX_PAGE_TOKEN_CHARS, LimitExceeded, check_hints, loggable
from trust_assets.sharing.oauth import PREFIX as ACCESS_TOKEN_PREFIX
from trust_assets.sharing.recipients import Identity
from trust_assets.sharing.rules import RuleError
from trust_assets.sharing.state import (
    CAPABILITIES_HEADER,
    MAX_PAGE,
    NDJSON,
    VERSION_HEADER,
    SharingError,
    SharingState,
    log,
)
from trust_assets.sharing.tables import Snapshot, SourceFile, Terms


def audit(request: Request, **fields: Any) -> None:
    request.state.audit.update({k: v for k, v in fields.items() if v is not None})


def rate_limit(state: SharingState, key: str) -> None:
    """429 with Retry-After once ``key`` (a recipient, or ``client:<address>``) has used up its burst."""
    wait = state.limiter.retry_after(key)
    if wait is not None:
        raise SharingError(429, "RESOURCE_EXHAUSTED", f"too many requests; retry after {wait} s",
                           headers={"Retry-After": str(wait)})


def client_key(request: Request) -> str:
    return f"client:{request.client.host if request.client else 'unknown'}"


def identify(state: SharingState, request: Request) -> Identity:
    """The recipient and credential behind the request's bearer token; 401 with WWW-Authenticate if none."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    if token and token.startswith(ACCESS_TOKEN_PREFIX):  # issued by our OAuth token endpoint
        identity = state.access_tokens.identify(token, state.recipients)
    else:
        identity = state.recipients.authenticate(token)
    audit(request, recipient=identity.recipient)
    if identity.refusal:
        rate_limit(state, client_key(request))  # failed attempts are limited per client address
        challenge = 'Bearer realm="delta-sharing"'
        if token:
            challenge += ', error="invalid_token"'
        raise SharingError(401, "UNAUTHENTICATED", identity.refusal, headers={"WWW-Authenticate": challenge})
    assert identity.recipient is not None
    rate_limit(state, identity.recipient)
    request.state.identity = identity
    return identity


def authenticate(state: SharingState, request: Request) -> str:
    return str(identify(state, request).recipient)


def current_agreements(state: SharingState) -> AgreementSet:
    """The agreement set, or 503 for everyone when the folder as a whole cannot be trusted."""
    agreements = state.agreements
    if agreements.unusable:
        raise SharingError(503, "TEMPORARILY_UNAVAILABLE", "sharing is suspended: the agreements do not validate "
                           "and the operator has been told; try again later", headers={"Retry-After": "60"})
    return agreements


def agreement_for(state: SharingState, request: Request, recipient: str, share: str) -> Agreement:
    share = share.lower()
    audit(request, share=share)
    agreements = current_agreements(state)
    broken = agreements.blocked(recipient, share)
    if broken is not None:
        audit(request, agreement=sorted(broken.ids)[0])
        if broken.withdrawn:
            raise SharingError(403, "PERMISSION_DENIED", f"the agreement for share {share} has been withdrawn")
        raise SharingError(503, "TEMPORARILY_UNAVAILABLE", f"share {share} is suspended: its agreement does not "
                           "validate and the operator has been told; try again later", headers={"Retry-After": "60"})
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
           ) -> tuple[Agreement, SharedTable, str]:
    recipient = authenticate(state, request)
    agreement = agreement_for(state, request, recipient, share)
    audit(request, schema=schema.lower(), table=table.lower())
    shared = agreement.table(schema, table)
    if shared is None:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST",
                           f"table {share}.{schema}.{table} does not exist in agreement {agreement.id}")
    return agreement, shared, shared.source.path(state.paths)


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
        offset = _page_offset(page_token)
    size = MAX_PAGE if max_results is None else min(max_results, MAX_PAGE)
    page = items[offset:offset + size]
    body: dict[str, Any] = {"items": page}
    if offset + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode().rstrip("=")
    return body


def _page_offset(page_token: str) -> int:
    """The offset a page token this server issued encodes; anything else is a 400, whatever it contains."""
    refusal = SharingError(400, "INVALID_PARAMETER_VALUE", "pageToken is not one this server issued")
    if len(page_token) > MAX_PAGE_TOKEN_CHARS or not page_token.isascii():
        raise refusal
    try:
        decoded = json.loads(base64.urlsafe_b64decode(page_token.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise refusal from None
    offset = decoded.get("o") if isinstance(decoded, dict) else None
    if type(offset) is not int or not 0 <= offset < 2**31:
        raise refusal
    return offset


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


def base_url(state: SharingState, request: Request) -> str:
    """Where clients reach this server: ``--public-url``, else the address its socket is bound to.

    Never the Host header, which the client controls: a URL the server signs must point at the server.
    """
    if state.config.public_url:
        return state.config.public_url.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in str(host) else host
    scheme = "https" if state.config.tls else "http"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def file_entry(state: SharingState, request: Request, recipient: str, terms: Terms, source: SourceFile,
                projected, partition_columns: list[str]) -> dict:
    path = f"{state.config.prefix}/files/{projected.key}.parquet"
    identity: Identity = request.state.identity
    not_after = identity.expires_at.timestamp() if identity.expires_at else None
    url, expires = state.signer.sign(base_url(state, request), path, recipient, terms.agreement_id,
                                     credential=identity.credential or "", not_after=not_after)
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


def project(state: SharingState, table_root: str | Path, source: SourceFile, snap: Snapshot, terms: Terms,
            shared: SharedTable):
    try:
        return state.projector.project(table_root, source, snap.schema, terms,
                                       origin=(shared.schema_name, shared.name))
    except RuleError as exc:
        log.error("agreement %s cannot be applied to %s: %s", terms.agreement_id, table_root, exc)
        raise SharingError(503, "TEMPORARILY_UNAVAILABLE", f"agreement {terms.agreement_id} cannot be applied to "
                           "this table; the operator has been told", headers={"Retry-After": "60"}) from None


def hints_for_log(body: QueryRequest) -> dict | None:
    """What the access log keeps of the hints: short ones verbatim, long ones as a digest and a size."""
    if not (body.jsonPredicateHints or body.predicateHints):
        return None
    return {"jsonPredicateHints": loggable(body.jsonPredicateHints), "predicateHints": loggable(body.predicateHints)}


def check_query_hints(body: QueryRequest) -> None:
    try:
        check_hints(body.jsonPredicateHints, body.predicateHints)
    except LimitExceeded as exc:
        raise SharingError(exc.status, "INVALID_PARAMETER_VALUE", exc.message) from None


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    predicateHints: list[str] | None = None  # deprecated SQL hints: accepted and ignored (best effort)
    jsonPredicateHints: str | dict | None = None
    limitHint: int | None = Field(default=None, ge=0)
    version: int | None = Field(default=None, ge=0)
    timestamp: str | None = None
    startingVersion: int | None = Field(default=None, ge=0)
    endingVersion: int | None = Field(default=None, ge=0)
