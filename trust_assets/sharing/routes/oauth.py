"""The OAuth 2.0 token endpoint (client credentials grant) for recipients with a version 2 profile."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trust_assets.sharing.oauth import OAuthError, client_credentials
from trust_assets.sharing.protocol import audit, client_key, rate_limit
from trust_assets.sharing.recipients import TOKEN_PATH
from trust_assets.sharing.state import State

router = APIRouter()


def _error(exc: OAuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="delta-sharing"'} if exc.status == 401 else None
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                        headers=headers)


@router.post(TOKEN_PATH)
async def token(request: Request, state: State) -> JSONResponse:
    """Exchange a client id and secret for a short-lived access token (RFC 6749 section 4.4)."""
    rate_limit(state, client_key(request))
    try:
        client_id, secret, form = client_credentials(request.headers.get("authorization", ""), await request.body())
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        identity = state.recipients.authenticate_client(client_id, secret)
        audit(request, recipient=identity.recipient, claimed_recipient=client_id[:64] if not identity.recipient
              else None)
        if identity.refusal or identity.recipient is None or identity.credential is None:
            raise OAuthError(401, "invalid_client", identity.refusal or "unknown client or wrong secret")
    except OAuthError as exc:
        audit(request, outcome=exc.error, message=exc.description)
        return _error(exc)
    rate_limit(state, identity.recipient)
    access, lifetime = state.access_tokens.issue(identity.recipient, identity.credential, identity.expires_at)
    audit(request, outcome="ok", token_expires_in=lifetime)
    return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": lifetime},
                        headers={"Pragma": "no-cache"})
