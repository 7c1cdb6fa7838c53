"""Listing routes: shares, schemas and tables a recipient's agreements grant."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from trust_assets.sharing.agreements import Agreement
from trust_assets.sharing.protocol import agreement_for, audit, authenticate, current_agreements, paginate
from trust_assets.sharing.state import SharingError, State

router = APIRouter()
MAX_RESULTS = 2**31 - 1


@router.get("/shares")
def list_shares(request: Request, state: State, maxResults: int | None = Query(None, ge=0, le=MAX_RESULTS),
                pageToken: str | None = None) -> JSONResponse:
    recipient = authenticate(state, request)
    today = state.config.today()
    agreements = current_agreements(state)
    items = [{"name": a.share, "id": a.id} for a in agreements.for_recipient(recipient)
             if a.refusal(today) is None and agreements.blocked(recipient, a.share) is None]
    return JSONResponse(paginate(items, maxResults, pageToken))


@router.get("/shares/{share}")
def get_share(request: Request, state: State, share: str) -> JSONResponse:
    agreement = agreement_for(state, request, authenticate(state, request), share)
    return JSONResponse({"share": {"name": agreement.share, "id": agreement.id}})


@router.get("/shares/{share}/schemas")
def list_schemas(request: Request, state: State, share: str, maxResults: int | None = Query(None, ge=0, le=MAX_RESULTS),
                 pageToken: str | None = None) -> JSONResponse:
    agreement = agreement_for(state, request, authenticate(state, request), share)
    items = [{"name": s, "share": agreement.share} for s in agreement.schemas]
    return JSONResponse(paginate(items, maxResults, pageToken))


def _tables(agreement: Agreement, schema: str | None) -> list[dict]:
    return [{"name": t.name, "schema": t.schema_name, "share": agreement.share, "shareId": agreement.id}
            for t in agreement.tables if schema is None or t.schema_name == schema.lower()]


@router.get("/shares/{share}/schemas/{schema}/tables")
def list_tables(request: Request, state: State, share: str, schema: str,
                maxResults: int | None = Query(None, ge=0, le=MAX_RESULTS),
                pageToken: str | None = None) -> JSONResponse:
    agreement = agreement_for(state, request, authenticate(state, request), share)
    audit(request, schema=schema.lower())
    if schema.lower() not in agreement.schemas:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"schema {share}.{schema} does not exist")
    return JSONResponse(paginate(_tables(agreement, schema), maxResults, pageToken))


@router.get("/shares/{share}/all-tables")
def list_all_tables(request: Request, state: State, share: str,
                    maxResults: int | None = Query(None, ge=0, le=MAX_RESULTS),
                    pageToken: str | None = None) -> JSONResponse:
    agreement = agreement_for(state, request, authenticate(state, request), share)
    return JSONResponse(paginate(_tables(agreement, None), maxResults, pageToken))
