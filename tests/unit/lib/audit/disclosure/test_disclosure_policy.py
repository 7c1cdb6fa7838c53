"""The disclosure policy file loads, covers every product, and a malformed policy is refused naming the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from trust_assets.lib.audit.disclosure.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy
from trust_assets.lib.registry.products import PRODUCTS


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text())


def test_shipped_policy_covers_every_product_and_its_grain():
    policy = load_policy()
    assert policy.version == _raw()["version"]
    assert set(policy.products) == {p.name for p in PRODUCTS}
    for p in PRODUCTS:
        assert policy.products[p.name].grain == p.grain
        assert set(p.grain) <= set(policy.products[p.name].dimensions)
    margin = next(m for m in policy.margins if m.name == "business_counts_by_region")
    assert {s.product for s in margin.sides} == {"local_labour_market_monthly", "sector_region_monthly"}
    assert (policy.count_threshold, policy.rounding_base, policy.rate_min_denominator) == (10, 5, 10)
    assert (policy.dominance_n, policy.dominance_k, policy.p_percent) == (2, 90.0, 10.0)


def _broken(edit) -> dict:
    raw = copy.deepcopy(_raw())
    edit(raw)
    return raw


@pytest.mark.parametrize(("edit", "names"), [
    (lambda r: r.pop("version"), "version"),
    (lambda r: r["counts"].update(threshold="ten"), "counts.threshold"),
    (lambda r: r["counts"].update(rounding_base=0), "counts.rounding_base"),
    (lambda r: r["pay"]["dominance"].update(n=3), "pay.dominance.n"),
    (lambda r: r["rates"].update(basis="raw"), "rates.basis"),
    (lambda r: r["products"]["local_labour_market_monthly"].update(colour="red"), "local_labour_market_monthly"),
    (lambda r: r["products"].update(mystery_product={"dimensions": ["a"], "counts": []}), "products.mystery_product"),
    (lambda r: r["products"]["sector_region_monthly"]["dimensions"].remove("sic_section"),
     "products.sector_region_monthly.dimensions"),
    (lambda r: r["products"]["claimant_employment_outcomes"]["rates"]["in_work_6m_rate"].update(
        denominator="people"), "products.claimant_employment_outcomes.rates.in_work_6m_rate.denominator"),
    (lambda r: r["products"]["sector_region_monthly"]["counts"].append("region"), "sector_region_monthly"),
    (lambda r: r["margins"]["business_counts_by_region"]["measures"].append("uc_claimants"),
     "margins.business_counts_by_region.measures"),
    (lambda r: r["margins"]["business_counts_by_region"]["sides"][1].update(group_by=["month"]),
     "margins.business_counts_by_region.sides[1].group_by"),
])
def test_malformed_policy_names_the_field(edit, names):
    with pytest.raises(PolicyError, match=r"(?s)" + names.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(_broken(edit), source="test.yaml")


def test_missing_or_unparsable_file(tmp_path):
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
