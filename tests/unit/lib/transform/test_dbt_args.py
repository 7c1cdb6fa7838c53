"""dbt's arguments: the run's pins and months as --vars (a pure function)."""

from __future__ import annotations

import json

import pytest

from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import pin
from trust_assets.lib.transform.dbt_args import dbt_build_args, dbt_vars


def test_dbt_vars_carry_pins_and_month_bounds(claims_table):
    pins = {"dwp/uc_claims": pin(UC_CLAIMS, claims_table, 1)}
    built = dbt_vars(pins, ["2025-02", "2025-01"])
    assert built["trust_month_start"] == "2025-01-01" and built["trust_month_end"] == "2025-02-01"
    assert built["trust_sources"]["dwp/uc_claims"]["version"] == 1
    assert built["trust_follow_up_months"] == [3, 6]  # from the products registry, read by the screening
    args = dbt_build_args(pins, ["2025-01"], select="marts")
    assert args[0] == "build" and args[-2:] == ["--select", "marts"]
    assert json.loads(args[2])["trust_sources"]["dwp/uc_claims"]["files"] == list(pins["dwp/uc_claims"].files)
    with pytest.raises(ValueError, match="at least one month"):
        dbt_vars(pins, [])
