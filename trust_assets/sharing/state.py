"""What every request of the sharing server needs: its configuration, the recipients, the signer, the agreements.

Agreements are re-read when their files change, so an edit (a withdrawal, a narrowed column list) takes effect on
the next request. A file that no longer validates is never replaced by its last good version: the shares it
grants (or every share, when it cannot even be told whose it is) are refused until it is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import AccessLog
from trust_assets.sharing.agreements import AgreementSet, folder_signature, load_agreements, scan_agreements
from trust_assets.sharing.limits import RateLimiter
from trust_assets.sharing.oauth import DEFAULT_ACCESS_TOKEN_SECONDS, AccessTokens
from trust_assets.sharing.recipients import RecipientStore
from trust_assets.sharing.signing import DEFAULT_URL_LIFETIME_SECONDS, UrlSigner, load_signing_key
from trust_assets.sharing.tables import Projector

NDJSON = "application/x-ndjson; charset=utf-8"
VERSION_HEADER = "delta-table-version"
CAPABILITIES_HEADER = "delta-sharing-capabilities"
MAX_PAGE = 1000
FILE_NAME = re.compile(r"^([0-9a-f]{64})\.parquet$")
log = logging.getLogger("trust_assets.sharing")


class SharingError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class ServerConfig:
    paths: TrustPaths
    agreements_dir: Path | None = None
    url_lifetime_seconds: int = DEFAULT_URL_LIFETIME_SECONDS
    #: Base of every URL the server hands out (``https://sharing.example.org``). Default: the address the server's
    #: socket is bound to; the request's Host header is never used.
    public_url: str | None = None
    prefix: str = "/delta-sharing"
    cache_dir: Path | None = None
    today: Callable[[], dt.date] = field(default=lambda: dt.datetime.now(dt.UTC).date())
    #: Requests per second each recipient (or unauthenticated client address) may make, and the burst allowed.
    rate_per_second: float = 50.0
    rate_burst: int = 200
    #: Served over TLS (adds Strict-Transport-Security).
    tls: bool = False
    #: Serve /openapi.json and /docs (off by default: the API is the Delta Sharing protocol, documented there).
    api_docs: bool = False
    #: Lifetime of the access tokens the OAuth token endpoint issues.
    access_token_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS


class SharingState:
    """Everything a request needs, with agreements re-read when their files change (withdrawal is immediate)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.paths = config.paths
        self.agreements_dir = Path(config.agreements_dir) if config.agreements_dir else None
        self.recipients = RecipientStore(config.paths)
        self.signer = UrlSigner(load_signing_key(config.paths), config.url_lifetime_seconds)
        self.access_tokens = AccessTokens.from_signing_key(self.signer.key, config.access_token_seconds)
        self.projector = Projector(config.cache_dir or config.paths.sharing / "cache",
                                   max_age_seconds=2 * config.url_lifetime_seconds)
        self.access_log = AccessLog.for_paths(config.paths)
        self.limiter = RateLimiter(config.rate_per_second, config.rate_burst)
        self._lock = threading.Lock()
        # At start-up a broken folder is an error the operator sees at once (``trust serve`` exits 2).
        self._agreements = load_agreements(self.agreements_dir, config.paths)
        self._signature: tuple | None = folder_signature(self._agreements.folder)

    @property
    def agreements(self) -> AgreementSet:
        """The agreements as their files say *now*; broken files block their shares (logged once per change)."""
        folder = self._agreements.folder
        signature = folder_signature(folder) if folder.is_dir() else None
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    current = scan_agreements(folder, self.paths, previous=self._agreements)
                    for problem in current.problems:
                        log.error("agreement refused, its shares are suspended until it is fixed: %s", problem)
                    self._agreements, self._signature = current, signature
        return self._agreements


def sharing_state(request: Request) -> SharingState:
    """The state of the app serving this request (a FastAPI dependency)."""
    return request.app.state.sharing


#: A route parameter that receives the app's state.
State = Annotated[SharingState, Depends(sharing_state)]
