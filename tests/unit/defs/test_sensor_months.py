"""Which months the sensor requests for what changed: touched months, and cohorts whose follow-up arrived."""

from __future__ import annotations

from trust_assets.defs.sources.sensors import months_to_request


def test_sensor_requests_follow_up_cohorts_only_for_payroll_changes():
    assert months_to_request({"hmrc/paye_employments": {"2025-09"}}) == ["2025-03", "2025-06", "2025-09"]
    assert months_to_request({"dwp/uc_claims": {"2025-09"}}) == ["2025-09"]
    assert months_to_request({}) == []
