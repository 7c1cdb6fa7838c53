"""Bounds on what a client can make the server hold, parse or log, and a per-recipient rate limit.

Every bound answers with a 4xx the official client does not retry blindly (413, 431, 400) or one it backs off on
(429 with ``Retry-After``), never a 5xx, which the client retries ten times with doubling waits.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from typing import Any

#: Largest request body accepted (a query body is a few hundred bytes; hints are bounded separately).
MAX_BODY_BYTES = 1 << 20
#: Header bounds: the whole block and any single value (a bearer token is ~50 bytes).
MAX_HEADER_BYTES = 32 << 10
MAX_HEADER_VALUE_BYTES = 8 << 10
MAX_HEADERS = 100
#: Deepest JSON nesting accepted anywhere (bodies, hint trees); real predicate trees are a few levels deep.
MAX_JSON_DEPTH = 64
#: Largest ``jsonPredicateHints`` (as JSON text) and number/size of the deprecated SQL ``predicateHints``.
MAX_HINT_BYTES = 64 << 10
MAX_SQL_HINTS = 100
MAX_SQL_HINT_BYTES = 4 << 10
#: Page tokens this server issues are ~20 characters.
MAX_PAGE_TOKEN_CHARS = 256
#: Hints longer than this are logged as a digest and a size, not verbatim.
LOG_HINT_BYTES = 1024

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class LimitExceeded(ValueError):
    """Input beyond a bound: carries the HTTP status and a message that names the bound."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_depth(data: bytes | str) -> int:
    """Deepest bracket nesting of JSON text, found without parsing it (so no recursion to exhaust)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_json_depth(data: bytes | str, what: str) -> None:
    if json_depth(data) > MAX_JSON_DEPTH:
        raise LimitExceeded(400, f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    if len(headers) > MAX_HEADERS:
        raise LimitExceeded(431, f"more than {MAX_HEADERS} request headers")
    total = 0
    for name, value in headers:
        total += len(name) + len(value) + 4
        if len(value) > MAX_HEADER_VALUE_BYTES:
            raise LimitExceeded(431, f"header {name.decode('latin-1')[:40]} is longer than "
                                f"{MAX_HEADER_VALUE_BYTES} bytes")
    if total > MAX_HEADER_BYTES:
        raise LimitExceeded(431, f"request headers exceed {MAX_HEADER_BYTES} bytes")


def check_hints(json_hints: str | dict | None, sql_hints: list[str] | None) -> None:
    """Bounds on the query's predicate hints: sizes and depth (400 naming the bound)."""
    if isinstance(json_hints, str):
        if len(json_hints.encode("utf-8", "surrogatepass")) > MAX_HINT_BYTES:
            raise LimitExceeded(400, f"jsonPredicateHints is longer than {MAX_HINT_BYTES} bytes")
        check_json_depth(json_hints, "jsonPredicateHints")
    if sql_hints is not None:
        if len(sql_hints) > MAX_SQL_HINTS:
            raise LimitExceeded(400, f"predicateHints has more than {MAX_SQL_HINTS} entries")
        if any(len(h.encode("utf-8", "surrogatepass")) > MAX_SQL_HINT_BYTES for h in sql_hints):
            raise LimitExceeded(400, f"a predicateHints entry is longer than {MAX_SQL_HINT_BYTES} bytes")


def loggable(value: Any) -> Any:
    """A value for the access log: itself when short, else its SHA-256 and size (a hint is evidence, not data)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= LOG_HINT_BYTES:
        return value
    return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}


class RateLimiter:
    """A token bucket per key (recipient, or client address for unauthenticated requests), in memory.

    Per process: behind several workers each enforces its own share; a deployment that needs one global limit
    puts it in its proxy as well (docs/security.md).
    """

    def __init__(self, per_second: float, burst: int, max_keys: int = 10_000) -> None:
        self.per_second = per_second
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Take one request from ``key``'s bucket: None when allowed, else whole seconds to wait."""
        if self.per_second <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > self.max_keys:
                    self._buckets.pop(next(iter(self._buckets)))
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.per_second))
