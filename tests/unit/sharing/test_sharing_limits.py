"""Input bounds and the rate limiter: measured without parsing, refused with the bound named."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trust_assets.sharing.limits import (
    MAX_JSON_DEPTH,
    LimitExceeded,
    RateLimiter,
    check_hints,
    json_depth,
    loggable,
)
from trust_assets.sharing.protocol import paginate
from trust_assets.sharing.state import SharingError

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                  max_size=3), max_leaves=30)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_json)
def test_json_depth_matches_the_parsed_depth_even_with_brackets_in_strings(value) -> None:
    assert json_depth(json.dumps(value)) == _depth(value)


def test_deep_hints_and_big_hints_are_400s() -> None:
    with pytest.raises(LimitExceeded, match=f"more than {MAX_JSON_DEPTH} levels"):
        check_hints("[" * 5000 + "]" * 5000, None)
    with pytest.raises(LimitExceeded, match="longer than"):
        check_hints("x" * (1 << 20), None)
    with pytest.raises(LimitExceeded, match="more than 100 entries"):
        check_hints(None, ["a"] * 101)
    check_hints('{"op": "and", "children": []}', ["month = 1"])


def test_long_values_are_logged_as_digest_and_size() -> None:
    assert loggable("short") == "short"
    long = loggable("y" * 5000)
    assert long["bytes"] == 5000 and len(long["sha256"]) == 64


@given(st.one_of(st.text(max_size=300), st.binary(max_size=200).map(
    lambda b: base64.urlsafe_b64encode(b).decode()), st.builds(
    lambda v: base64.urlsafe_b64encode(json.dumps({"o": v}).encode()).decode(),
    st.one_of(st.floats(allow_nan=True), st.integers(min_value=-10**400, max_value=10**400), st.text(),
              st.booleans(), st.none()))))
@settings(max_examples=300, deadline=None)
def test_any_page_token_is_a_page_or_a_400(token: str) -> None:
    try:
        body = paginate(list(range(5)), 2, token)
    except SharingError as exc:
        assert exc.status == 400 and "pageToken" in exc.message
    else:
        assert isinstance(body["items"], list)


def test_rate_limiter_allows_a_burst_then_asks_to_wait() -> None:
    limiter = RateLimiter(per_second=2, burst=3)
    assert [limiter.retry_after("a", now=0) for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("a", now=0) == 1
    assert limiter.retry_after("b", now=0) is None  # per key
    assert limiter.retry_after("a", now=0.6) is None  # refilled at 2/s
    assert RateLimiter(per_second=0, burst=1).retry_after("a") is None  # 0 turns it off
