"""File routes: the signed URLs a query hands out, authorised again, from scratch, every time they are read.

The signature only proves the server issued the URL. Whether it is honoured is decided now: the credential that
obtained it must still be live (not revoked, rotated out or expired), its agreement must still grant that
recipient today, and the file must be exactly what the agreement's *current* terms for that table would produce
(same columns, same row rules, same source). Any narrowing, widening or withdrawal therefore cancels URLs already
issued; the recipient runs its query again.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from trust_assets.lib.storage import canonical
from trust_assets.sharing.protocol import audit, current_agreements, rate_limit
from trust_assets.sharing.state import FILE_NAME, SharingError, SharingState, State
from trust_assets.sharing.tables import Projector, Terms

router = APIRouter()


@router.get("/files/{name}", response_model=None)
def read_file(request: Request, state: State, name: str, exp: str = Query(..., max_length=20),
              rcp: str = Query(..., max_length=64), agr: str = Query(..., max_length=128),
              sig: str = Query(..., max_length=128), tid: str = Query("", max_length=64)) -> Response:
    return serve_file(state, request, name, exp, rcp, agr, sig, tid)


@router.head("/files/{name}", response_model=None)
def head_file(request: Request, state: State, name: str, exp: str = Query(..., max_length=20),
              rcp: str = Query(..., max_length=64), agr: str = Query(..., max_length=128),
              sig: str = Query(..., max_length=128), tid: str = Query("", max_length=64)) -> Response:
    return serve_file(state, request, name, exp, rcp, agr, sig, tid)


def serve_file(state: SharingState, request: Request, name: str, exp: str, rcp: str, agr: str, sig: str,
               tid: str) -> Response:
    match = FILE_NAME.match(name)
    if not match:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "no such file")
    key = match.group(1)
    audit(request, file=key)
    problem = state.signer.verify(request.url.path, exp, rcp, agr, sig, credential=tid)
    if problem:
        # not signed by us: what it claims is recorded as a claim, never as who made the request
        audit(request, claimed_recipient=rcp, claimed_agreement=agr)
        rate_limit(state, f"client:{request.client.host if request.client else 'unknown'}")
        raise SharingError(403, "PERMISSION_DENIED", problem)
    audit(request, recipient=rcp, agreement=agr)
    rate_limit(state, rcp)
    refusal = state.recipients.grant_refusal(rcp, tid)
    if refusal:
        raise SharingError(403, "PERMISSION_DENIED", refusal)
    _check_terms(state, request, key, rcp, agr)
    path = state.projector.path_for(key)
    if not path.exists():
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "file is no longer cached; run the query again")
    return FileResponse(path, media_type="application/octet-stream")


def _check_terms(state: SharingState, request: Request, key: str, recipient: str, agreement_id: str) -> None:
    """403 unless the agreement, as it stands now, would still hand this recipient exactly this file."""
    agreements = current_agreements(state)
    broken = agreements.blocked_id(agreement_id)
    if broken is not None:
        if broken.withdrawn:
            raise SharingError(403, "PERMISSION_DENIED", f"agreement {agreement_id} has been withdrawn")
        raise SharingError(503, "TEMPORARILY_UNAVAILABLE", f"agreement {agreement_id} does not validate; its "
                           "shares are suspended until it is fixed", headers={"Retry-After": "60"})
    agreement = agreements.by_id(agreement_id)
    if agreement is None or agreement.recipient != recipient:
        raise SharingError(403, "PERMISSION_DENIED", f"agreement {agreement_id} no longer grants recipient "
                           f"{recipient}")
    refusal = agreement.refusal(state.config.today())
    if refusal:
        raise SharingError(403, "PERMISSION_DENIED", refusal)
    audit(request, share=agreement.share)
    origin = state.projector.origin_of(key)
    if origin is None:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "file is no longer cached; run the query again")
    audit(request, schema=origin["schema"], table=origin["table"])  # so bytes served count against the table
    shared = agreement.table(origin["schema"], origin["table"])
    changed = SharingError(403, "PERMISSION_DENIED", f"agreement {agreement_id} has changed since this URL was "
                           "issued; run the query again for files under its current terms")
    if shared is None:
        raise changed
    root = shared.source.path(state.paths)
    terms = Terms(agreement_id=agreement.id, columns=tuple(shared.permitted(origin["schema_names"])),
                  rules=shared.row_rules)
    if canonical(root) != origin["table_root"] or \
            Projector.key_for(root, origin["source_path"], origin["kind"], terms) != key:
        raise changed
