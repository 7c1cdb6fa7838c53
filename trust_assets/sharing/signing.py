"""Short-lived file URLs that authorise themselves, like an object store's pre-signed URLs.

A query response hands out ``/files/<key>.parquet?exp=..&rcp=..&agr=..&sig=..``. The signature is an HMAC over a
canonical form of the request: the *percent-decoded* path plus the expiry, recipient and agreement. Clients
differ in how they re-encode a URL (fsspec decodes ``%3D`` to ``=`` before sending), so signing the decoded form
means every faithful rendering of the same URL verifies, while any change to what it names does not.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

from trust_assets.lib.paths import TrustPaths

DEFAULT_URL_LIFETIME_SECONDS = 3600


def load_signing_key(paths: TrustPaths) -> bytes:
    """The server's HMAC key, created once (0600) under TrustPaths.sharing; rotating it invalidates live URLs."""
    path = paths.sharing / "signing.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    key = Path(path).read_text().strip()
    if len(key) < 64:
        raise ValueError(f"{path}: signing key is too short or still being written; delete it to regenerate")
    return bytes.fromhex(key)


def canonical(path: str, exp: str, recipient: str, agreement: str) -> bytes:
    return "\n".join(("GET", unquote(path), exp, recipient, agreement)).encode("utf-8")


@dataclass(frozen=True)
class UrlSigner:
    key: bytes
    lifetime_seconds: int = DEFAULT_URL_LIFETIME_SECONDS

    def sign(self, base_url: str, path: str, recipient: str, agreement: str,
             now: float | None = None) -> tuple[str, int]:
        """An absolute URL for ``path`` (server-relative) and its expiry in epoch milliseconds."""
        exp = int((now if now is not None else time.time()) + self.lifetime_seconds)
        sig = self._mac(path, str(exp), recipient, agreement)
        query = urlencode({"exp": exp, "rcp": recipient, "agr": agreement, "sig": sig})
        return f"{base_url.rstrip('/')}{quote(path)}?{query}", exp * 1000

    def verify(self, path: str, exp: str, recipient: str, agreement: str, sig: str,
               now: float | None = None) -> str | None:
        """None when valid, otherwise why not (expiry is checked after the signature so it cannot be forged)."""
        if not hmac.compare_digest(self._mac(path, exp, recipient, agreement), sig):
            return "file URL signature does not match; request a fresh URL with a new query"
        if not exp.isdigit() or int(exp) < (now if now is not None else time.time()):
            return "file URL has expired; request a fresh URL with a new query"
        return None

    def _mac(self, path: str, exp: str, recipient: str, agreement: str) -> str:
        return hmac.new(self.key, canonical(path, exp, recipient, agreement), hashlib.sha256).hexdigest()
