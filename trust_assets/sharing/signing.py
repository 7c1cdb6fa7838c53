"""Short-lived file URLs that authorise themselves, like an object store's pre-signed URLs.

A query response hands out ``/files/<key>.parquet?exp=..&rcp=..&agr=..&tid=..&sig=..``. The signature is an HMAC
over a canonical form of the request: the *percent-decoded* path plus the expiry, recipient, agreement and the
credential (token id) the query was made with. The signature only says the server issued the URL; whether it is
still honoured is decided again at every read (``routes/files.py``). Clients
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


def canonical(path: str, exp: str, recipient: str, agreement: str, credential: str) -> bytes:
    return "\n".join(("GET", unquote(path), exp, recipient, agreement, credential)).encode("utf-8")


@dataclass(frozen=True)
class UrlSigner:
    key: bytes
    lifetime_seconds: int = DEFAULT_URL_LIFETIME_SECONDS

    def sign(self, base_url: str, path: str, recipient: str, agreement: str, credential: str = "",
             now: float | None = None, not_after: float | None = None) -> tuple[str, int]:
        """An absolute URL for ``path`` (server-relative) and its expiry in epoch milliseconds.

        ``not_after`` (epoch seconds) caps the expiry, so a URL never outlives the credential that obtained it.
        """
        exp = int((now if now is not None else time.time()) + self.lifetime_seconds)
        if not_after is not None:
            exp = min(exp, int(not_after))
        sig = self._mac(path, str(exp), recipient, agreement, credential)
        query = urlencode({"exp": exp, "rcp": recipient, "agr": agreement, "tid": credential, "sig": sig})
        return f"{base_url.rstrip('/')}{quote(path)}?{query}", exp * 1000

    def verify(self, path: str, exp: str, recipient: str, agreement: str, sig: str, credential: str = "",
               now: float | None = None) -> str | None:
        """None when valid, otherwise why not (expiry is checked after the signature so it cannot be forged)."""
        expected = self._mac(path, exp, recipient, agreement, credential).encode()
        if not hmac.compare_digest(expected, sig.encode("utf-8", "replace")):
            return "file URL signature does not match; request a fresh URL with a new query"
        if not exp.isdigit() or int(exp) < (now if now is not None else time.time()):
            return "file URL has expired; request a fresh URL with a new query"
        return None

    def _mac(self, path: str, exp: str, recipient: str, agreement: str, credential: str) -> str:
        return hmac.new(self.key, canonical(path, exp, recipient, agreement, credential),
                        hashlib.sha256).hexdigest()
