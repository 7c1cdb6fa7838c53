"""Persistent secret cell offsets: the randomness of keyed rounding (policy ``counts.cross_release``).

Like the record keys of the ONS/ABS cell-key method, the randomness is derived from a secret the trust holds and
is *persistent*: the same cell gets the same offset in every release, so republishing a cell never gives an
attacker a fresh, independent draw to average or intersect. Unlike a per-record key, the offset belongs to the
cell (product, grain values, measure): the marts hand the trust aggregates, not records. Two measures that count
the same people share an offset (``pay_people`` in the policy), so the same quantity is never shown with two
different pieces of noise.

The secret lives under ``TRUST_HOME/trust/secrets`` (0600), never in the repository or in a published table.
Losing or rotating it gives every cell a fresh offset, which would let an attacker intersect the old and new
offsets: rotate only with a policy version bump and a fresh ledger (docs/quality.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trust_assets.lib.paths import TrustPaths

SECRET_BYTES = 32


class CellKeyError(RuntimeError):
    """The cell-key secret is missing, unreadable or malformed."""


@dataclass(frozen=True)
class CellKeys:
    """Keyed, persistent offsets in ``0..base-1`` for cells named by (product, measure key, cell key)."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise CellKeyError("the cell-key secret must be at least 16 bytes")

    def offsets(self, product: str, measure: str, cell_keys: Iterable[str], base: int) -> np.ndarray:
        """One offset per cell key: HMAC-SHA256(secret, product/measure/cell) mod ``base`` (uniform for a 256-bit
        digest, whatever the base)."""
        prefix = f"{product}\x1f{measure}\x1f".encode()
        return np.fromiter(
            (int.from_bytes(hmac.new(self.secret, prefix + key.encode(), hashlib.sha256).digest(), "big") % base
             for key in cell_keys), dtype=np.int64)

    @classmethod
    def load(cls, paths: TrustPaths, *, create: bool = True) -> CellKeys:
        """The trust's secret (created 0600 on first use when ``create``)."""
        return cls(read_or_create_secret(paths.disclosure_secret, create=create))


def read_or_create_secret(path: Path, *, create: bool) -> bytes:
    """Read the secret, or write a new random one with owner-only permissions (never overwriting a file)."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise CellKeyError(f"{path} is readable by others: chmod 600 it (it protects every published count)")
        data = path.read_bytes()
        if len(data) != SECRET_BYTES:
            raise CellKeyError(f"{path} is not a {SECRET_BYTES}-byte cell-key secret")
        return data
    if not create:
        raise CellKeyError(f"no cell-key secret at {path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = secrets.token_bytes(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return read_or_create_secret(path, create=False)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return data
