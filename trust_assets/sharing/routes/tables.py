"""Table routes: version, metadata, query (files at a version) and changes (the change feed)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from trust_assets.sharing.agreements import SharedTable
from trust_assets.sharing.protocol import (
    QueryRequest,
    audit,
    check_format,
    check_query_hints,
    file_entry,
    hints_for_log,
    metadata_line,
    ndjson,
    project,
    shared_table,
    terms_for,
)
from trust_assets.sharing.rules import hint_keeps_file, parse_json_hints
from trust_assets.sharing.state import VERSION_HEADER, SharingError, SharingState, State
from trust_assets.sharing.tables import commit_actions, latest_version, snapshot, version_at

router = APIRouter()
TABLE = "/shares/{share}/schemas/{schema}/tables/{table}"
PROTOCOL_LINE = {"protocol": {"minReaderVersion": 1}}


def _released(state: SharingState, shared: SharedTable) -> list[int] | None:
    """Versions of a published product that complete releases name (None: not a product, or no manifest).

    A product version outside every complete release belongs to an interrupted release and is never served.
    """
    from trust_assets.lib.publish.releases import released_versions

    product = shared.source.published_product
    if product is None:
        return None
    versions = released_versions(state.paths, product)
    if versions == []:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"{product} has no complete release yet")
    return versions


def _served(released: list[int] | None, version: int, *, explicit: bool) -> int:
    """The version to serve for ``version``: itself if released, else (when not asked for) the release before."""
    if released is None or version in released:
        return version
    earlier = [v for v in released if v <= version]
    if explicit or not earlier:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"version {version} of the table is not part of a "
                           f"complete release (released versions: {', '.join(map(str, released))})")
    return earlier[-1]


def _latest(root: str, released: list[int] | None) -> int:
    return released[-1] if released else latest_version(root)


def _version_response(state: SharingState, request: Request, share: str, schema: str, table: str,
                      starting_timestamp: str | None) -> Response:
    _, shared, root = shared_table(state, request, share, schema, table)
    released = _released(state, shared)
    version = (min(version_at(root, starting_timestamp, at_or_after=True), _latest(root, released))
               if starting_timestamp else _latest(root, released))
    audit(request, version=version)
    return Response(status_code=200, headers={VERSION_HEADER: str(version)})


@router.get(TABLE + "/version")
def table_version(request: Request, state: State, share: str, schema: str, table: str,
                  startingTimestamp: str | None = None) -> Response:
    return _version_response(state, request, share, schema, table, startingTimestamp)


@router.head(TABLE)
def table_version_head(request: Request, state: State, share: str, schema: str, table: str) -> Response:
    return _version_response(state, request, share, schema, table, None)


def _resolve_version(root: str, version: int | None, timestamp: str | None,
                     released: list[int] | None = None) -> int | None:
    """The version a request asked for (None: the latest), limited to complete releases when ``released``."""
    if version is not None and timestamp is not None:
        raise SharingError(400, "INVALID_PARAMETER_VALUE", "give at most one of version and timestamp")
    if timestamp:
        return _served(released, version_at(root, timestamp, at_or_after=False), explicit=False)
    return None if version is None else _served(released, version, explicit=True)


@router.get(TABLE + "/metadata")
def table_metadata(request: Request, state: State, share: str, schema: str, table: str,
                   version: int | None = Query(None, ge=0),
                   timestamp: str | None = None) -> Response:
    agreement, shared, root = shared_table(state, request, share, schema, table)
    formats = check_format(request)
    released = _released(state, shared)
    chosen = _resolve_version(root, version, timestamp, released)
    snap = snapshot(root, chosen if chosen is not None or released is None else released[-1], with_files=False)
    audit(request, version=snap.version)
    terms = terms_for(agreement, shared, snap)
    return ndjson([PROTOCOL_LINE, metadata_line(snap, terms, version is not None or timestamp is not None)],
                  snap.version, formats)


@router.post(TABLE + "/query")
def query_table(request: Request, state: State, share: str, schema: str, table: str,
                body: QueryRequest | None = None) -> Response:
    """The files of one table version a recipient may read, cut to its agreement, as signed URLs."""
    body = body or QueryRequest()
    agreement, shared, root = shared_table(state, request, share, schema, table)
    formats = check_format(request)
    audit(request, limit=body.limitHint, predicates=hints_for_log(body))
    check_query_hints(body)
    if body.startingVersion is not None:
        raise SharingError(400, "UNSUPPORTED_OPERATION",
                           "startingVersion (streaming) queries are not supported; use the changes API")
    released = _released(state, shared)
    requested = _resolve_version(root, body.version, body.timestamp, released)
    snap = snapshot(root, requested if requested is not None or released is None else released[-1])
    audit(request, version=snap.version)
    terms = terms_for(agreement, shared, snap)
    hints = parse_json_hints(body.jsonPredicateHints)
    permitted_partitions = [c for c in snap.partition_columns if c in terms.columns]
    lines: list[dict] = [PROTOCOL_LINE, metadata_line(snap, terms, requested is not None)]
    rows = files = size = 0
    recipient = request.state.audit["recipient"]
    for source in snap.files:
        visible = {k: v for k, v in source.partition_values.items() if k in permitted_partitions}
        if not hint_keeps_file(hints, visible):
            continue
        projected = project(state, root, source, snap, terms, shared)
        if projected is None:
            continue
        stamped = replace(source, version=requested) if requested is not None else source
        lines.append({"file": file_entry(state, request, recipient, terms, stamped, projected, permitted_partitions)})
        rows, files, size = rows + projected.num_rows, files + 1, size + projected.size
        if body.limitHint is not None and rows >= body.limitHint:
            break
    audit(request, files=files, file_bytes=size, rows=rows)
    return ndjson(lines, snap.version, formats)


def _change_range(root: str, starting_version: int | None, ending_version: int | None,
                  starting_timestamp: str | None, ending_timestamp: str | None,
                  released: list[int] | None = None) -> tuple[int, int]:
    if (starting_version is None) == (starting_timestamp is None):
        raise SharingError(400, "INVALID_PARAMETER_VALUE", "give exactly one of startingVersion and "
                           "startingTimestamp")
    if ending_version is not None and ending_timestamp is not None:
        raise SharingError(400, "INVALID_PARAMETER_VALUE", "give at most one of endingVersion and endingTimestamp")
    latest = _latest(root, released)
    start = starting_version if starting_version is not None else version_at(root, str(starting_timestamp),
                                                                              at_or_after=True)
    end = ending_version if ending_version is not None else (
        version_at(root, ending_timestamp, at_or_after=False) if ending_timestamp else latest)
    if start > latest or end > latest:
        raise SharingError(400, "INVALID_PARAMETER_VALUE",
                           f"versions {start}..{end} go beyond the latest version {latest}")
    if start > end:
        raise SharingError(400, "INVALID_PARAMETER_VALUE", f"startingVersion {start} is after endingVersion {end}")
    return start, end


@router.get(TABLE + "/changes")
def table_changes(request: Request, state: State, share: str, schema: str, table: str,
                  startingVersion: int | None = Query(None, ge=0), endingVersion: int | None = Query(None, ge=0),
                  startingTimestamp: str | None = None, endingTimestamp: str | None = None,
                  includeHistoricalMetadata: bool | None = None) -> Response:
    """The change feed, synthesised from each commit's add and remove actions, cut to the agreement."""
    agreement, shared, root = shared_table(state, request, share, schema, table)
    formats = check_format(request)
    start, end = _change_range(root, startingVersion, endingVersion, startingTimestamp, endingTimestamp,
                               _released(state, shared))
    audit(request, version=start, ending_version=end)
    snap = snapshot(root, end, with_files=False)
    terms = terms_for(agreement, shared, snap)
    permitted_partitions = [c for c in snap.partition_columns if c in terms.columns]
    lines: list[dict] = [PROTOCOL_LINE, metadata_line(snap, terms, False)]
    files = size = 0
    recipient = request.state.audit["recipient"]
    wrapper = {"add": "add", "remove": "remove", "cdc": "cdf"}
    for version in range(start, end + 1):
        for source in commit_actions(root, version):
            projected = project(state, root, source, snap, terms, shared)
            if projected is None:
                continue
            lines.append({wrapper[source.kind]: file_entry(state, request, recipient, terms, source, projected,
                                                           permitted_partitions)})
            files, size = files + 1, size + projected.size
    audit(request, files=files, file_bytes=size)
    return ndjson(lines, start, formats)
