"""Cells each protection touched (issue 11 item 5): the counts the audit hands to lineage and the report agree
with the protected release itself, cell by cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _releases import KEYS, LLM, POLICY, SHIPPED, build_release

from trust_assets.lib.audit.disclosure.perturbation import product_protection, protection_summary
from trust_assets.lib.audit.disclosure.protect import protect


def _perturbed(raw: pd.DataFrame, pub: pd.DataFrame, column: str, grain: list[str]) -> tuple[int, int, float]:
    both = pub[[*grain, column]].merge(raw[[*grain, column]], on=grain, suffixes=("", "_true"))
    shown = both[column].notna()
    diff = (both.loc[shown, column].astype(float) - both.loc[shown, f"{column}_true"].astype(float)).abs()
    return int(shown.sum()), int((diff > 0).sum()), float(diff.sum())


def test_keyed_rounding_counts_match_the_published_cells():
    marts = build_release(3)
    published = protect(marts, SHIPPED, keys=KEYS)
    summary = protection_summary(marts, published, SHIPPED)
    assert set(summary) == set(published)
    llm = summary[LLM]
    grain = list(SHIPPED.product(LLM).grain)
    assert llm["count_method"] == "keyed_rounding"
    for column in SHIPPED.product(LLM).counts:
        assert tuple(llm["columns"][column][k] for k in ("published", "perturbed", "abs_perturbation")) == \
            _perturbed(marts[LLM], published[LLM], column, grain)
    assert llm["count_cells_perturbed"] == sum(llm["columns"][c]["perturbed"] for c in SHIPPED.product(LLM).counts)
    assert 0 < llm["count_cells_perturbed"] <= llm["count_cells_published"]
    # keyed rounding moves a count by at most base - 1
    assert llm["count_abs_perturbation"] <= (SHIPPED.rounding_base - 1) * llm["count_cells_perturbed"]
    reasons = published[LLM]["suppression"].dropna().str.split(";").explode().str.split(":").str[1]
    assert llm["suppressed_by_rule"] == {k: int(v) for k, v in reasons.value_counts().items()}
    assert llm["cross_release_withheld"] == llm["suppressed_by_rule"].get("cross_release", 0)


def test_plain_rounding_is_named_and_an_exact_release_perturbs_nothing():
    marts = build_release(5)
    rounded = {name: frame.copy() for name, frame in marts.items()}
    counts = list(POLICY.product(LLM).counts)
    rounded[LLM][counts] = (rounded[LLM][counts] // 5 * 5).astype(np.int64)  # multiples of 5: rounding keeps them
    published = protect(rounded, POLICY)
    result = product_protection(rounded[LLM], published[LLM], POLICY, LLM)
    assert result["count_method"] == "rounding"
    assert result["count_cells_published"] > 0 and result["count_cells_perturbed"] == 0
    assert result["count_abs_perturbation"] == 0
