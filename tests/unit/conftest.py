"""Fixtures shared by the unit tests: a tiny department table written by deltalake."""

from __future__ import annotations

import datetime as dt

import pytest
from _tables import claims
from deltalake import write_deltalake


@pytest.fixture
def claims_table(tmp_path):
    uri = str(tmp_path / "uc_claims")
    write_deltalake(uri, claims(dt.date(2025, 1, 1)))
    write_deltalake(uri, claims(dt.date(2025, 2, 1)), mode="append")
    write_deltalake(uri, claims(dt.date(2025, 3, 1)), mode="append")
    return uri
