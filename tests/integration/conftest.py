"""Shared integration fixtures: one tiny synthetic TRUST_HOME generated per session, copied where a test mutates it.

Generating is cheap (~1 s) but a Dagster run of a month is not (~30 s), so a home that has already published is
also built once per session, and only when a test asks for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _homes import copy_home, use_home

from trust_assets.lib.paths import TrustPaths

#: The tiny home every integration test starts from: 8 months from 2025-01, seed 7.
TINY_SEED, TINY_MONTHS, TINY_START = 7, 8, "2025-01"


@pytest.fixture(scope="session")
def tiny_months() -> list[str]:
    """Every month (``YYYY-MM``) the tiny home holds in every monthly source, oldest first."""
    from trust_assets.lib.months import shift_month

    return [shift_month(TINY_START, i) for i in range(TINY_MONTHS)]


@pytest.fixture(scope="session")
def tiny_home_template(tmp_path_factory) -> Path:
    """Department tables and the trust's cell-key secret only (no published products or dagster/ yet).

    Every copy shares the secret, so homes built from the template round the same cells the same way (keyed
    rounding) and their products can be compared cell by cell. Read-only: copy it before changing anything.
    """
    from trust_assets.lib.audit.disclosure.cellkey import CellKeys
    from trust_assets.synth.writer import generate

    root = tmp_path_factory.mktemp("tiny-template") / "home"
    generate(TrustPaths(root), seed=TINY_SEED, scale="tiny", months=TINY_MONTHS, start=TINY_START)
    CellKeys.load(TrustPaths(root))
    return root


@pytest.fixture
def tiny_home(tiny_home_template, tmp_path, monkeypatch) -> TrustPaths:
    """A private copy of the tiny home, set as TRUST_HOME for this test."""
    return use_home(monkeypatch, copy_home(tiny_home_template, tmp_path / "home"))


@pytest.fixture(scope="session")
def published_home_template(tiny_home_template, tmp_path_factory) -> Path:
    """The tiny home after one successful ``trust run`` of 2025-01: published tables and a Dagster instance exist."""
    from trust_assets.runs.execute import run_months

    root = copy_home(tiny_home_template, tmp_path_factory.mktemp("published-template") / "home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, root)
        outcomes = run_months(TrustPaths(root), [TINY_START], echo=lambda *_: None)
    assert [o.success for o in outcomes] == [True], outcomes[0].message
    return root


@pytest.fixture
def published_home(published_home_template, tmp_path, monkeypatch) -> TrustPaths:
    """A private copy of the published home, set as TRUST_HOME for this test."""
    return use_home(monkeypatch, copy_home(published_home_template, tmp_path / "home"))
