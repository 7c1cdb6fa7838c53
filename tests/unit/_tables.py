"""Tiny department tables for unit tests (imported as `_tables`; tests/unit is on the path through its conftest)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from trust_assets.lib.registry.sources import UC_CLAIMS


def claims(month: dt.date, n: int = 3) -> pa.Table:
    rows = {
        "person_id": [f"P{i}" for i in range(n)], "month": [month] * n, "residence_la_code": ["E06000001"] * n,
        "age_band": ["25-34"] * n, "sex": ["F"] * n, "disability": [False] * n,
        "conditionality_regime": ["searching_for_work"] * n, "claim_start_date": [month] * n,
    }
    return pa.Table.from_pydict(rows, schema=UC_CLAIMS.schema)
