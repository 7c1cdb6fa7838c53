"""What every request of the sharing server needs: its configuration, the recipients, the signer, the agreements.

Agreements are re-read when their files change, so a withdrawal takes effect on the next request.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from trust_assets.lib.paths import TrustPaths
from trust_assets.sharing.access_log import AccessLog, access_log_path
from trust_assets.sharing.agreements import AgreementSet, folder_signature, load_agreements
from trust_assets.sharing.recipients import RecipientStore
from trust_assets.sharing.signing import DEFAULT_URL_LIFETIME_SECONDS, UrlSigner, load_signing_key
from trust_assets.sharing.tables import Projector

NDJSON = "application/x-ndjson; charset=utf-8"
VERSION_HEADER = "delta-table-version"
CAPABILITIES_HEADER = "delta-sharing-capabilities"
MAX_PAGE = 1000
FILE_NAME = re.compile(r"^([0-9a-f]{64})\.parquet$")


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


def sharing_state(request: Request) -> SharingState:
    """The state of the app serving this request (a FastAPI dependency)."""
    return request.app.state.sharing


#: A route parameter that receives the app's state.
State = Annotated[SharingState, Depends(sharing_state)]
