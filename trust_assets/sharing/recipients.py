"""Delta Sharing recipients: bearer tokens stored only as SHA-256 hashes, with expiry, rotation and revocation.

A token is 256 random bits, so a fast hash is enough (there is nothing to brute-force, unlike a password); the
store never holds a usable token, and the plaintext exists only in the profile file handed to the recipient.
Old tokens stay in the store with their status so a refused request can say *why* (expired when, rotated when,
revoked when) and the audit log can still attribute it to a recipient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trust_assets.lib.paths import TrustPaths

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_LIFETIME = dt.timedelta(days=90)
BEARER = "bearer_token"
OAUTH = "oauth_client_credentials"
#: Where a profile's OAuth token endpoint lives, relative to the sharing endpoint.
TOKEN_PATH = "/oauth/token"


class RecipientError(ValueError):
    """A recipient command that cannot be carried out; the message names the recipient."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(sha256: str) -> str:
    """A short, non-secret name for one credential: signed file URLs carry it, so they die with it."""
    return sha256[:16]


@dataclass(frozen=True)
class Identity:
    """The outcome of checking a bearer token: who presented it, with which credential, and if refused, why."""

    recipient: str | None
    refusal: str | None = None
    #: The credential the request was made with (see ``token_id``); file URLs it obtains are bound to it.
    credential: str | None = None
    #: When that credential stops working; no file URL issued under it outlives it.
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    recipient: str
    token: str
    expires_at: dt.datetime
    profile_path: Path | None = None


class RecipientStore:
    """``recipients.json`` under TrustPaths.sharing; re-read when it changes so revocation takes effect at once."""

    def __init__(self, paths: TrustPaths) -> None:
        self.path = paths.sharing / "recipients.json"
        self.profiles = paths.sharing / "profiles"
        self._cache: tuple[tuple[int, int], dict] | None = None

    # ---- storage ----
    def _load(self) -> dict:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {"recipients": {}}
        signature = (stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != signature:
            self._cache = (signature, json.loads(self.path.read_text(encoding="utf-8")))
        return self._cache[1]

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".recipients-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._cache = None

    # ---- commands ----
    def create(self, name: str, *, endpoint: str | None = None, lifetime: dt.timedelta = DEFAULT_LIFETIME,
               expires_at: dt.datetime | None = None, comment: str = "", auth: str = BEARER) -> IssuedToken:
        """A new recipient with a bearer token, or (``auth=OAUTH``) an OAuth client whose id is its name."""
        if not _NAME.match(name):
            raise RecipientError(f"recipient name {name!r} must match {_NAME.pattern}")
        if auth not in (BEARER, OAUTH):
            raise RecipientError(f"auth must be {BEARER} or {OAUTH}, not {auth!r}")
        data = self._load()
        if name in data["recipients"]:
            raise RecipientError(f"recipient {name!r} already exists; use rotate to issue a new token")
        data = json.loads(json.dumps(data))
        data["recipients"][name] = {"created_at": _iso(_now()), "comment": comment, "auth": auth, "tokens": []}
        return self._issue(data, name, endpoint, expires_at or _now() + lifetime)

    def rotate(self, name: str, *, endpoint: str | None = None, lifetime: dt.timedelta = DEFAULT_LIFETIME,
               expires_at: dt.datetime | None = None) -> IssuedToken:
        """Issue a new token and retire the current one immediately (the new profile replaces the old)."""
        data = json.loads(json.dumps(self._load()))
        self._require(data, name)
        for token in data["recipients"][name]["tokens"]:
            if token["status"] == "active":
                token.update(status="rotated", ended_at=_iso(_now()))
        return self._issue(data, name, endpoint, expires_at or _now() + lifetime)

    def revoke(self, name: str) -> int:
        """Revoke every live token of a recipient; returns how many were revoked."""
        data = json.loads(json.dumps(self._load()))
        self._require(data, name)
        count = 0
        for token in data["recipients"][name]["tokens"]:
            if token["status"] == "active":
                token.update(status="revoked", ended_at=_iso(_now()))
                count += 1
        data["recipients"][name]["revoked_at"] = _iso(_now())
        self._save(data)
        return count

    def list(self) -> list[dict]:
        """One row per recipient: name, token status and expiry (never a token or its hash)."""
        rows = []
        now = _now()
        for name, entry in sorted(self._load()["recipients"].items()):
            current = next((t for t in entry["tokens"] if t["status"] == "active"), None)
            status = "revoked" if current is None else (
                "expired" if dt.datetime.fromisoformat(current["expires_at"]) < now else "active")
            rows.append({"recipient": name, "auth": entry.get("auth", BEARER), "status": status,
                         "created_at": entry["created_at"],
                         "expires_at": current["expires_at"] if current else None,
                         "tokens_issued": len(entry["tokens"])})
        return rows

    def exists(self, name: str) -> bool:
        return name in self._load()["recipients"]

    def is_revoked(self, name: str) -> bool:
        entry = self._load()["recipients"].get(name)
        return entry is None or not any(t["status"] == "active" for t in entry["tokens"])

    def authenticate(self, token: str | None) -> Identity:
        """Match a presented bearer token against stored hashes; refusal messages say what went wrong and when."""
        if not token:
            return Identity(None, "missing bearer token: send 'Authorization: Bearer <token>' from your profile")
        return self._match(token, BEARER, "token")

    def authenticate_client(self, client_id: str, secret: str) -> Identity:
        """Check an OAuth client's id and secret (the token endpoint); refusals say why, as for tokens."""
        entry = self._load()["recipients"].get(client_id)
        if entry is None or entry.get("auth", BEARER) != OAUTH or not secret:
            return Identity(None, "unknown client or wrong secret")
        identity = self._match(secret, OAUTH, "client secret", only=client_id)
        return identity if identity.recipient else Identity(None, "unknown client or wrong secret")

    def _match(self, secret: str, kind: str, what: str, only: str | None = None) -> Identity:
        presented = token_hash(secret)
        for name, entry in self._load()["recipients"].items():
            if only is not None and name != only:
                continue
            if entry.get("auth", BEARER) != kind:
                continue  # a client secret is never accepted as a bearer token, nor the reverse
            for stored in entry["tokens"]:
                if not hmac.compare_digest(stored["sha256"], presented):
                    continue
                if stored["status"] == "revoked":
                    return Identity(name, f"{what} of recipient {name} was revoked at {stored['ended_at']}")
                if stored["status"] == "rotated":
                    return Identity(name, f"{what} of recipient {name} was replaced by rotation at "
                                          f"{stored['ended_at']}; use the new profile")
                if dt.datetime.fromisoformat(stored["expires_at"]) < _now():
                    return Identity(name, f"{what} of recipient {name} expired at {stored['expires_at']}")
                return Identity(name, credential=token_id(stored["sha256"]),
                                expires_at=dt.datetime.fromisoformat(stored["expires_at"]))
        return Identity(None, "bearer token not recognised")

    def grant_refusal(self, name: str, credential: str) -> str | None:
        """Why a file URL issued to ``name`` under ``credential`` may not be honoured *now*, or None.

        A URL is only as good as the credential that obtained it: once that token is revoked, rotated out or past
        its expiry, every URL it was handed stops too. Issuing the recipient a new token later does not revive
        them, because they stay bound to the old one (revocation is permanent for what was issued before it).
        """
        entry = self._load()["recipients"].get(name)
        if entry is None:
            return f"recipient {name} no longer exists"
        for stored in entry["tokens"]:
            if token_id(stored["sha256"]) != credential:
                continue
            if stored["status"] == "revoked":
                return f"recipient {name} was revoked at {stored['ended_at']}"
            if stored["status"] == "rotated":
                return f"the token this URL was issued to was replaced by rotation at {stored['ended_at']}"
            if dt.datetime.fromisoformat(stored["expires_at"]) < _now():
                return f"the token this URL was issued to expired at {stored['expires_at']}"
            return None
        return f"the credential this URL was issued to is not one of recipient {name}'s"

    # ---- helpers ----
    @staticmethod
    def _require(data: dict, name: str) -> None:
        if name not in data["recipients"]:
            known = ", ".join(sorted(data["recipients"])) or "none"
            raise RecipientError(f"unknown recipient {name!r}; known: {known}")

    def _issue(self, data: dict, name: str, endpoint: str | None, expires_at: dt.datetime) -> IssuedToken:
        oauth = data["recipients"][name].get("auth", BEARER) == OAUTH
        token = ("lms_" if oauth else "lmt_") + secrets.token_urlsafe(32)
        data["recipients"][name]["tokens"].append({
            "sha256": token_hash(token), "issued_at": _iso(_now()), "expires_at": _iso(expires_at),
            "status": "active",
        })
        data["recipients"][name].pop("revoked_at", None)
        self._save(data)
        profile = self.write_profile(name, token, endpoint, expires_at) if endpoint else None
        return IssuedToken(recipient=name, token=token, expires_at=expires_at, profile_path=profile)

    def write_profile(self, name: str, token: str, endpoint: str, expires_at: dt.datetime,
                      path: Path | None = None) -> Path:
        """Write the recipient's Delta Sharing profile file, readable only by us: version 1 with a bearer token,
        or version 2 ``oauth_client_credentials`` (token endpoint, client id and secret) for an OAuth client."""
        path = path or self.profiles / f"{name}.share"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        endpoint = endpoint.rstrip("/")
        profile: dict[str, object]
        if token.startswith("lms_"):
            profile = {"shareCredentialsVersion": 2, "type": OAUTH, "endpoint": endpoint,
                       "tokenEndpoint": endpoint + TOKEN_PATH, "clientId": name, "clientSecret": token,
                       "expirationTime": _iso(expires_at)}
        else:
            profile = {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token,
                       "expirationTime": _iso(expires_at)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(profile, handle, indent=2)
        return path
