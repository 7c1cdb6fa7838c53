"""OAuth 2.0 client credentials for recipients (Delta Sharing profile version 2, ``oauth_client_credentials``).

The official client (1.4.x, ``delta_sharing/_internal_auth.py``) posts ``grant_type=client_credentials`` to the
profile's ``tokenEndpoint`` with the client id and secret in HTTP Basic auth (RFC 6749 section 4.4), reads
``access_token`` and ``expires_in`` from the JSON answer, and renews the token before it runs out. The trust serves
that endpoint itself (``POST /delta-sharing/oauth/token``).

Client secrets are stored like bearer tokens (SHA-256 only, with status and expiry, in ``recipients.json``). Access
tokens are short-lived (default 1 h) and stateless: ``lma_<payload>.<hmac>`` naming the recipient, the client
credential and the expiry, signed with a key derived from the server's signing key. Expiry is enforced by the
server on every request, and each use also checks that the client credential is still live, so revoking or
rotating a client ends its access tokens (and the file URLs they obtained) at once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from trust_assets.sharing.recipients import Identity, RecipientStore

PREFIX = "lma_"
DEFAULT_ACCESS_TOKEN_SECONDS = 3600


class OAuthError(Exception):
    """An RFC 6749 token error: ``error`` code, description and HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass(frozen=True)
class AccessTokens:
    """Issues and checks the trust's short-lived access tokens."""

    key: bytes
    lifetime_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS

    @classmethod
    def from_signing_key(cls, signing_key: bytes, lifetime_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS
                         ) -> AccessTokens:
        return cls(hmac.new(signing_key, b"oauth-access-token", hashlib.sha256).digest(), lifetime_seconds)

    def issue(self, recipient: str, credential: str, credential_expires: dt.datetime | None,
              now: float | None = None) -> tuple[str, int]:
        """An access token and its lifetime in seconds (never beyond the client secret's own expiry)."""
        now = time.time() if now is None else now
        exp = int(now + self.lifetime_seconds)
        if credential_expires is not None:
            exp = min(exp, int(credential_expires.timestamp()))
        payload = base64.urlsafe_b64encode(json.dumps({"r": recipient, "c": credential, "exp": exp},
                                                      separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{PREFIX}{payload}.{self._mac(payload)}", max(0, exp - int(now))

    def identify(self, token: str, store: RecipientStore, now: float | None = None) -> Identity:
        """Who an access token belongs to, or why it is refused (forged, expired, client revoked or rotated)."""
        payload, _, sig = token[len(PREFIX):].partition(".")
        if not hmac.compare_digest(self._mac(payload).encode(), sig.encode("utf-8", "replace")):
            return Identity(None, "access token not recognised")
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            recipient, credential, exp = str(claims["r"]), str(claims["c"]), int(claims["exp"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return Identity(None, "access token not recognised")
        if exp < (time.time() if now is None else now):
            moment = dt.datetime.fromtimestamp(exp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return Identity(recipient, f"access token of recipient {recipient} expired at {moment}; the client "
                                       "requests a new one from the token endpoint")
        refusal = store.grant_refusal(recipient, credential)
        if refusal:
            return Identity(recipient, refusal.replace("this URL was issued to", "behind this access token"))
        return Identity(recipient, credential=credential, expires_at=dt.datetime.fromtimestamp(exp, dt.UTC))

    def _mac(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()


def client_credentials(authorization: str, body: bytes) -> tuple[str, str, dict[str, str]]:
    """(client id, secret, form fields) from a token request: HTTP Basic (client_secret_basic) or form fields
    (client_secret_post); the form is ``application/x-www-form-urlencoded`` as RFC 6749 requires."""
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=False).items()}
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "the body is not a form (application/x-www-form-urlencoded)"
                         ) from None
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError(401, "invalid_client", "malformed Basic credentials")
        return unquote(client_id), unquote(secret), form
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"], form
    raise OAuthError(401, "invalid_client", "client authentication required (HTTP Basic or client_id and "
                     "client_secret form fields)")
