"""File routes: the signed URLs a query hands out, checked again when they are read."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from trust_assets.sharing.protocol import audit
from trust_assets.sharing.state import FILE_NAME, SharingError, SharingState, State

router = APIRouter()


@router.get("/files/{name}", response_model=None)
def read_file(request: Request, state: State, name: str, exp: str = Query(...), rcp: str = Query(...),
              agr: str = Query(...), sig: str = Query(...)) -> Response:
    return serve_file(state, request, name, exp, rcp, agr, sig)


@router.head("/files/{name}", response_model=None)
def head_file(request: Request, state: State, name: str, exp: str = Query(...), rcp: str = Query(...),
              agr: str = Query(...), sig: str = Query(...)) -> Response:
    return serve_file(state, request, name, exp, rcp, agr, sig)


def serve_file(state: SharingState, request: Request, name: str, exp: str, rcp: str, agr: str, sig: str
               ) -> Response:
    """A signed URL authorises itself, but revocation, withdrawal and expiry still apply at read time."""
    match = FILE_NAME.match(name)
    if not match:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "no such file")
    audit(request, file=match.group(1), recipient=rcp, agreement=agr)
    problem = state.signer.verify(request.url.path, exp, rcp, agr, sig)
    if problem:
        raise SharingError(403, "PERMISSION_DENIED", problem)
    if state.recipients.is_revoked(rcp):
        raise SharingError(403, "PERMISSION_DENIED", f"recipient {rcp} has been revoked")
    agreement = state.agreements.by_id(agr)
    if agreement is None or agreement.recipient != rcp:
        raise SharingError(403, "PERMISSION_DENIED", f"agreement {agr} no longer grants recipient {rcp}")
    refusal = agreement.refusal(state.config.today())
    if refusal:
        raise SharingError(403, "PERMISSION_DENIED", refusal)
    audit(request, share=agreement.share)
    path = state.projector.path_for(match.group(1))
    if not path.exists():
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "file is no longer cached; run the query again")
    return FileResponse(path, media_type="application/octet-stream")
