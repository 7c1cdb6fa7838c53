"""How many cells of a release each protection touched: what lineage and the report say per product version.

Suppression is already counted by column and reason (``protect.suppression_counts``, reasons ``threshold`` …
``cross_release``); this adds what the published values themselves carry: per count (and pay) column, how many
published cells differ from their true value (keyed rounding, or plain rounding under ``cross_release: none``) and
by how much in total. Computed at the audit, where true and protected values sit side by side, and carried to the
published commit as ``trust.protection`` (the true values never leave the trust: only counts and sums do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from trust_assets.lib.audit.disclosure.policy import DisclosurePolicy

SUPPRESSION_COLUMN = "suppression"


def count_method(policy: DisclosurePolicy) -> str:
    """The name of the rule that perturbs published counts under this policy."""
    return "keyed_rounding" if policy.cross_release == "keyed_rounding" else "rounding"


def _reasons(published: pd.DataFrame) -> dict[str, int]:
    if SUPPRESSION_COLUMN not in published.columns:
        return {}
    pairs = published[SUPPRESSION_COLUMN].dropna().astype(str).str.split(";").explode()
    reasons = pairs[pairs != ""].str.split(":", n=1).str[1]
    return {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()}


def product_protection(unprotected: pd.DataFrame, published: pd.DataFrame, policy: DisclosurePolicy,
                       name: str) -> dict[str, Any]:
    """One product's summary: ``{"count_method", "count_cells_published", "count_cells_perturbed",
    "count_abs_perturbation", "pay_cells_published", "pay_cells_rounded", "columns": {col: {"kind", "published",
    "perturbed", "abs_perturbation"}}, "suppressed_by_rule": {reason: cells}, "cross_release_withheld"}``."""
    rules = policy.product(name)
    grain = list(rules.grain)
    measures = [(c, "count") for c in rules.counts] + [(s, "pay") for s in rules.pay]
    raw = unprotected[grain + [m for m, _ in measures]].reset_index(drop=True)
    both = published[grain + [m for m, _ in measures]].reset_index(drop=True).merge(
        raw, on=grain, how="left", suffixes=("", "__true"))
    columns: dict[str, dict[str, Any]] = {}
    for measure, kind in measures:
        shown = pd.to_numeric(both[measure], errors="coerce").astype("float64")
        true = pd.to_numeric(both[f"{measure}__true"], errors="coerce").astype("float64")
        both_known = shown.notna() & true.notna()
        diff = (shown[both_known] - true[both_known]).abs()
        columns[measure] = {"kind": kind, "published": int(shown.notna().sum()),
                            "perturbed": int((diff > 1e-9).sum()), "abs_perturbation": round(float(diff.sum()), 6)}
    counts = [c for c in columns.values() if c["kind"] == "count"]
    pay = [c for c in columns.values() if c["kind"] == "pay"]
    by_rule = _reasons(published)
    return {
        "count_method": count_method(policy),
        "count_cells_published": sum(c["published"] for c in counts),
        "count_cells_perturbed": sum(c["perturbed"] for c in counts),
        "count_abs_perturbation": round(sum(c["abs_perturbation"] for c in counts), 6),
        "pay_cells_published": sum(c["published"] for c in pay),
        "pay_cells_rounded": sum(c["perturbed"] for c in pay),
        "columns": columns,
        "suppressed_by_rule": by_rule,
        "cross_release_withheld": by_rule.get("cross_release", 0),
    }


def protection_summary(unprotected: Mapping[str, pd.DataFrame], published: Mapping[str, pd.DataFrame],
                       policy: DisclosurePolicy) -> dict[str, dict[str, Any]]:
    """``product_protection`` for every product of a release."""
    return {name: product_protection(unprotected[name], frame, policy, name) for name, frame in published.items()}
