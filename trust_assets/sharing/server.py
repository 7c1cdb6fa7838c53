"""The trust's Delta Sharing server (protocol: delta-io/delta-sharing PROTOCOL.md), built with FastAPI.

Two directions use the same server: department shares to the trust (recipient ``trust``) and published products
to analysts. What a recipient sees is exactly what its agreements list; every response and file is cut down to
the agreement's columns and rows; every request, refused or not, lands in the hash-chained access log.
Client mistakes get 400/401/403/404 with ``{errorCode, message}``, never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import AccessLog, access_log_path
from trust_assets.sharing.agreements import Agreement, AgreementSet, SharedTable, folder_signature, load_agreements
from trust_assets.sharing.recipients import RecipientStore
from trust_assets.sharing.rules import RuleError, hint_keeps_file, parse_json_hints
from trust_assets.sharing.signing import DEFAULT_URL_LIFETIME_SECONDS, UrlSigner, load_signing_key
from trust_assets.sharing.tables import (
    Projector,
    Snapshot,
    SourceFile,
    TableAccessError,
    Terms,
    commit_actions,
    latest_version,
    snapshot,
    version_at,
)

NDJSON = "application/x-ndjson; charset=utf-8"
VERSION_HEADER = "delta-table-version"
CAPABILITIES_HEADER = "delta-sharing-capabilities"
MAX_PAGE = 1000
_FILE_NAME = re.compile(r"^([0-9a-f]{64})\.parquet$")


class SharingError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class ServerConfig:
    paths: TrustPaths
    agreements_dir: Path | None = None
    url_lifetime_seconds: int = DEFAULT_URL_LIFETIME_SECONDS
    #: Absolute base for file URLs when behind a proxy; default: the URL the request came in on.
    public_url: str | None = None
    prefix: str = "/delta-sharing"
    cache_dir: Path | None = None
    today: Callable[[], dt.date] = field(default=lambda: dt.datetime.now(dt.UTC).date())


class SharingState:
    """Everything a request needs, with agreements re-read when their files change (withdrawal is immediate)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.paths = config.paths
        self.agreements_dir = Path(config.agreements_dir) if config.agreements_dir else None
        self.recipients = RecipientStore(config.paths)
        self.signer = UrlSigner(load_signing_key(config.paths), config.url_lifetime_seconds)
        self.projector = Projector(config.cache_dir or config.paths.sharing / "cache",
                                   max_age_seconds=2 * config.url_lifetime_seconds)
        self.access_log = AccessLog(access_log_path(config.paths))
        self._lock = threading.Lock()
        self._agreements = load_agreements(self.agreements_dir, config.paths)
        self._signature = folder_signature(self._agreements.folder)

    @property
    def agreements(self) -> AgreementSet:
        signature = folder_signature(self._agreements.folder)
        if signature != self._signature:
            with self._lock:
                # a broken edit must not take the server down: keep serving the last good set and say so
                try:
                    self._agreements = load_agreements(self._agreements.folder, self.paths)
                finally:
                    self._signature = signature
        return self._agreements


# ---- request helpers ----

def _audit(request: Request, **fields: Any) -> None:
    request.state.audit.update({k: v for k, v in fields.items() if v is not None})


def _authenticate(state: SharingState, request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    identity = state.recipients.authenticate(token)
    _audit(request, recipient=identity.recipient)
    if identity.refusal:
        raise SharingError(401, "UNAUTHENTICATED", identity.refusal)
    assert identity.recipient is not None
    return identity.recipient


def _agreement(state: SharingState, request: Request, recipient: str, share: str) -> Agreement:
    share = share.lower()
    _audit(request, share=share)
    agreements = state.agreements
    agreement = agreements.find(recipient, share)
    if agreement is None:
        if agreements.share_exists(share):
            raise SharingError(403, "PERMISSION_DENIED", f"share {share} is not granted to recipient {recipient}")
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"share {share} does not exist")
    _audit(request, agreement=agreement.id)
    refusal = agreement.refusal(state.config.today())
    if refusal:
        raise SharingError(403, "PERMISSION_DENIED", refusal)
    return agreement


def _table(state: SharingState, request: Request, share: str, schema: str, table: str
           ) -> tuple[Agreement, SharedTable, Path]:
    recipient = _authenticate(state, request)
    agreement = _agreement(state, request, recipient, share)
    _audit(request, schema=schema.lower(), table=table.lower())
    shared = agreement.table(schema, table)
    if shared is None:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST",
                           f"table {share}.{schema}.{table} does not exist in agreement {agreement.id}")
    return agreement, shared, state.agreements.source_path(shared)


def _check_format(request: Request) -> bool:
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


def _paginate(items: list[dict], max_results: int | None, page_token: str | None) -> dict:
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


def _ndjson(lines: Iterable[dict], version: int, formats_requested: bool) -> Response:
    headers = {VERSION_HEADER: str(version)}
    if formats_requested:
        headers[CAPABILITIES_HEADER] = "responseformat=parquet"
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return Response(body, media_type=NDJSON, headers=headers)


def _terms(agreement: Agreement, shared: SharedTable, snap: Snapshot) -> Terms:
    return Terms(agreement_id=agreement.id, columns=tuple(shared.permitted(snap.schema.names)),
                 rules=shared.row_rules)


def _metadata(snap: Snapshot, terms: Terms, with_version: bool) -> dict:
    permitted = set(terms.columns)
    fields = [f for f in snap.delta_schema["fields"] if f["name"] in permitted]
    meta: dict[str, Any] = {
        "id": snap.table_id, "format": {"provider": "parquet"},
        "schemaString": json.dumps({"type": "struct", "fields": fields}, separators=(",", ":")),
        "partitionColumns": [c for c in snap.partition_columns if c in permitted],
        "configuration": {},
    }
    if with_version:
        meta["version"] = snap.version
    return {"metaData": meta}


def _file_entry(state: SharingState, request: Request, recipient: str, terms: Terms, source: SourceFile,
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


def _project(state: SharingState, table_root: Path, source: SourceFile, snap: Snapshot, terms: Terms):
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


# ---- the app ----

def create_app(config: ServerConfig) -> FastAPI:
    """Build the server for one TrustPaths; nothing is read until this is called."""
    state = SharingState(config)
    app = FastAPI(title="Labour Market Data Trust — Delta Sharing", version="1",
                  description="Delta Sharing protocol endpoints for department shares and published products.")
    app.state.sharing = state
    p = config.prefix

    @app.exception_handler(SharingError)
    async def _sharing_error(request: Request, exc: SharingError) -> JSONResponse:
        _audit(request, outcome=exc.code, message=exc.message)
        return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(TableAccessError)
    async def _table_error(request: Request, exc: TableAccessError) -> JSONResponse:
        _audit(request, outcome=exc.code, message=exc.message)
        return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        _audit(request, outcome="INVALID_PARAMETER_VALUE", message=problems)
        return JSONResponse({"errorCode": "INVALID_PARAMETER_VALUE", "message": problems}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "RESOURCE_DOES_NOT_EXIST", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
        _audit(request, outcome=code)
        return JSONResponse({"errorCode": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        _audit(request, outcome="INTERNAL_ERROR", message=f"{type(exc).__name__}: {exc}")
        return JSONResponse({"errorCode": "INTERNAL_ERROR", "message": "internal error; see the server log"},
                            status_code=500)

    page_params = {"ge": 0, "le": 2**31 - 1}

    @app.get(f"{p}/shares")
    def list_shares(request: Request, maxResults: int | None = Query(None, **page_params),
                    pageToken: str | None = None) -> JSONResponse:
        recipient = _authenticate(state, request)
        today = config.today()
        items = [{"name": a.share, "id": a.id} for a in state.agreements.for_recipient(recipient)
                 if a.refusal(today) is None]
        return JSONResponse(_paginate(items, maxResults, pageToken))

    @app.get(f"{p}/shares/{{share}}")
    def get_share(request: Request, share: str) -> JSONResponse:
        agreement = _agreement(state, request, _authenticate(state, request), share)
        return JSONResponse({"share": {"name": agreement.share, "id": agreement.id}})

    @app.get(f"{p}/shares/{{share}}/schemas")
    def list_schemas(request: Request, share: str, maxResults: int | None = Query(None, **page_params),
                     pageToken: str | None = None) -> JSONResponse:
        agreement = _agreement(state, request, _authenticate(state, request), share)
        items = [{"name": s, "share": agreement.share} for s in agreement.schemas]
        return JSONResponse(_paginate(items, maxResults, pageToken))

    def _tables(agreement: Agreement, schema: str | None) -> list[dict]:
        return [{"name": t.name, "schema": t.schema_name, "share": agreement.share, "shareId": agreement.id}
                for t in agreement.tables if schema is None or t.schema_name == schema.lower()]

    @app.get(f"{p}/shares/{{share}}/schemas/{{schema}}/tables")
    def list_tables(request: Request, share: str, schema: str, maxResults: int | None = Query(None, **page_params),
                    pageToken: str | None = None) -> JSONResponse:
        agreement = _agreement(state, request, _authenticate(state, request), share)
        _audit(request, schema=schema.lower())
        if schema.lower() not in agreement.schemas:
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"schema {share}.{schema} does not exist")
        return JSONResponse(_paginate(_tables(agreement, schema), maxResults, pageToken))

    @app.get(f"{p}/shares/{{share}}/all-tables")
    def list_all_tables(request: Request, share: str, maxResults: int | None = Query(None, **page_params),
                        pageToken: str | None = None) -> JSONResponse:
        agreement = _agreement(state, request, _authenticate(state, request), share)
        return JSONResponse(_paginate(_tables(agreement, None), maxResults, pageToken))

    def _version_response(request: Request, share: str, schema: str, table: str,
                          startingTimestamp: str | None) -> Response:
        _, _, root = _table(state, request, share, schema, table)
        version = (version_at(root, startingTimestamp, at_or_after=True) if startingTimestamp
                   else latest_version(root))
        _audit(request, version=version)
        return Response(status_code=200, headers={VERSION_HEADER: str(version)})

    @app.get(f"{p}/shares/{{share}}/schemas/{{schema}}/tables/{{table}}/version")
    def table_version(request: Request, share: str, schema: str, table: str,
                      startingTimestamp: str | None = None) -> Response:
        return _version_response(request, share, schema, table, startingTimestamp)

    @app.head(f"{p}/shares/{{share}}/schemas/{{schema}}/tables/{{table}}")
    def table_version_head(request: Request, share: str, schema: str, table: str) -> Response:
        return _version_response(request, share, schema, table, None)

    def _resolve_version(root: Path, version: int | None, timestamp: str | None) -> int | None:
        if version is not None and timestamp is not None:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "give at most one of version and timestamp")
        return version_at(root, timestamp, at_or_after=False) if timestamp else version

    @app.get(f"{p}/shares/{{share}}/schemas/{{schema}}/tables/{{table}}/metadata")
    def table_metadata(request: Request, share: str, schema: str, table: str,
                       version: int | None = Query(None, ge=0), timestamp: str | None = None) -> Response:
        agreement, shared, root = _table(state, request, share, schema, table)
        formats = _check_format(request)
        snap = snapshot(root, _resolve_version(root, version, timestamp), with_files=False)
        _audit(request, version=snap.version)
        terms = _terms(agreement, shared, snap)
        return _ndjson([{"protocol": {"minReaderVersion": 1}},
                        _metadata(snap, terms, version is not None or timestamp is not None)],
                       snap.version, formats)

    @app.post(f"{p}/shares/{{share}}/schemas/{{schema}}/tables/{{table}}/query")
    def query_table(request: Request, share: str, schema: str, table: str,
                    body: QueryRequest | None = None) -> Response:
        body = body or QueryRequest()
        agreement, shared, root = _table(state, request, share, schema, table)
        formats = _check_format(request)
        _audit(request, predicates={"jsonPredicateHints": body.jsonPredicateHints,
                                    "predicateHints": body.predicateHints} if (
                                        body.jsonPredicateHints or body.predicateHints) else None,
               limit=body.limitHint)
        if body.startingVersion is not None:
            raise SharingError(400, "UNSUPPORTED_OPERATION",
                               "startingVersion (streaming) queries are not supported; use the changes API")
        requested = _resolve_version(root, body.version, body.timestamp)
        snap = snapshot(root, requested)
        _audit(request, version=snap.version)
        terms = _terms(agreement, shared, snap)
        hints = parse_json_hints(body.jsonPredicateHints)
        permitted_partitions = [c for c in snap.partition_columns if c in terms.columns]
        lines: list[dict] = [{"protocol": {"minReaderVersion": 1}}, _metadata(snap, terms, requested is not None)]
        rows = files = size = 0
        recipient = request.state.audit["recipient"]
        for source in snap.files:
            visible = {k: v for k, v in source.partition_values.items() if k in permitted_partitions}
            if not hint_keeps_file(hints, visible):
                continue
            projected = _project(state, root, source, snap, terms)
            if projected is None:
                continue
            stamped = replace(source, version=requested) if requested is not None else source
            lines.append({"file": _file_entry(state, request, recipient, terms, stamped, projected,
                                              permitted_partitions)})
            rows, files, size = rows + projected.num_rows, files + 1, size + projected.size
            if body.limitHint is not None and rows >= body.limitHint:
                break
        _audit(request, files=files, file_bytes=size, rows=rows)
        return _ndjson(lines, snap.version, formats)

    @app.get(f"{p}/shares/{{share}}/schemas/{{schema}}/tables/{{table}}/changes")
    def table_changes(request: Request, share: str, schema: str, table: str,
                      startingVersion: int | None = Query(None, ge=0),
                      endingVersion: int | None = Query(None, ge=0),
                      startingTimestamp: str | None = None, endingTimestamp: str | None = None,
                      includeHistoricalMetadata: bool | None = None) -> Response:
        agreement, shared, root = _table(state, request, share, schema, table)
        formats = _check_format(request)
        if (startingVersion is None) == (startingTimestamp is None):
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "give exactly one of startingVersion and "
                               "startingTimestamp")
        if endingVersion is not None and endingTimestamp is not None:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "give at most one of endingVersion and endingTimestamp")
        latest = latest_version(root)
        start = startingVersion if startingVersion is not None else version_at(root, str(startingTimestamp),
                                                                                at_or_after=True)
        end = endingVersion if endingVersion is not None else (
            version_at(root, endingTimestamp, at_or_after=False) if endingTimestamp else latest)
        if start > latest or end > latest:
            raise SharingError(400, "INVALID_PARAMETER_VALUE",
                               f"versions {start}..{end} go beyond the latest version {latest}")
        if start > end:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", f"startingVersion {start} is after endingVersion {end}")
        _audit(request, version=start, ending_version=end)
        snap = snapshot(root, end, with_files=False)
        terms = _terms(agreement, shared, snap)
        permitted_partitions = [c for c in snap.partition_columns if c in terms.columns]
        lines: list[dict] = [{"protocol": {"minReaderVersion": 1}}, _metadata(snap, terms, False)]
        files = size = 0
        recipient = request.state.audit["recipient"]
        wrapper = {"add": "add", "remove": "remove", "cdc": "cdf"}
        for version in range(start, end + 1):
            for source in commit_actions(root, version):
                projected = _project(state, root, source, snap, terms)
                if projected is None:
                    continue
                lines.append({wrapper[source.kind]: _file_entry(state, request, recipient, terms, source, projected,
                                                                permitted_partitions)})
                files, size = files + 1, size + projected.size
        _audit(request, files=files, file_bytes=size)
        return _ndjson(lines, start, formats)

    @app.get(f"{p}/files/{{name}}", response_model=None)
    def read_file(request: Request, name: str, exp: str = Query(...), rcp: str = Query(...),
                  agr: str = Query(...), sig: str = Query(...)) -> Response:
        return _serve_file(request, name, exp, rcp, agr, sig)

    @app.head(f"{p}/files/{{name}}", response_model=None)
    def head_file(request: Request, name: str, exp: str = Query(...), rcp: str = Query(...),
                  agr: str = Query(...), sig: str = Query(...)) -> Response:
        return _serve_file(request, name, exp, rcp, agr, sig)

    def _serve_file(request: Request, name: str, exp: str, rcp: str, agr: str, sig: str) -> Response:
        """A signed URL authorises itself, but revocation, withdrawal and expiry still apply at read time."""
        match = _FILE_NAME.match(name)
        if not match:
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "no such file")
        _audit(request, file=match.group(1), recipient=rcp, agreement=agr)
        problem = state.signer.verify(request.url.path, exp, rcp, agr, sig)
        if problem:
            raise SharingError(403, "PERMISSION_DENIED", problem)
        if state.recipients.is_revoked(rcp):
            raise SharingError(403, "PERMISSION_DENIED", f"recipient {rcp} has been revoked")
        agreement = state.agreements.by_id(agr)
        if agreement is None or agreement.recipient != rcp:
            raise SharingError(403, "PERMISSION_DENIED", f"agreement {agr} no longer grants recipient {rcp}")
        refusal = agreement.refusal(config.today())
        if refusal:
            raise SharingError(403, "PERMISSION_DENIED", refusal)
        _audit(request, share=agreement.share)
        path = state.projector.path_for(match.group(1))
        if not path.exists():
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "file is no longer cached; run the query again")
        return FileResponse(path, media_type="application/octet-stream")

    return AuditMiddleware(app, state.access_log)


class AuditMiddleware:
    """Records every request after its response has been sent: status, outcome and the bytes actually served."""

    def __init__(self, app: FastAPI, log: AccessLog) -> None:
        self.app: ASGIApp = app
        self.fastapi = app
        self.log = log

    def __getattr__(self, name: str) -> Any:  # lets tests and tools reach .openapi(), .state, ...
        return getattr(self.fastapi, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audit: dict[str, Any] = {}
        scope.setdefault("state", {})["audit"] = audit
        status = {"code": 500}
        sent = {"bytes": 0}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and scope["method"] != "HEAD":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            client = scope.get("client")
            self.log.append(
                method=scope["method"], path=scope["path"], status=status["code"],
                outcome=audit.pop("outcome", "ok" if status["code"] < 400 else "error"),
                client=client[0] if client else None, bytes_sent=sent["bytes"], **audit,
            )
