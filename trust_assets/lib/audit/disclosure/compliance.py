"""An independent re-check of a published release against its unprotected cells: the audit's blocking check.

Written without reference to ``protect`` (it only looks at what is published and the support columns), so a bug in
``protect`` (or a hand-edited table) cannot reach analysts unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trust_assets.lib.audit.disclosure.policy import (
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_YET_OBSERVABLE,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED_PREFIX,
    SUPPORT_PREFIX,
    SUPPRESSION_COLUMN,
    DisclosurePolicy,
    Release,
    ReleaseError,
    numeric,
    pay_support,
    require_mapping,
    status_column,
    to_frame,
)

if TYPE_CHECKING:
    from trust_assets.lib.audit.disclosure.cellkey import CellKeys


@dataclass(frozen=True)
class Violation:
    """One broken rule in one product column, with how many cells break it and a few example grain keys."""

    product: str
    rule: str
    column: str | None
    cells: int
    message: str
    examples: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"product": self.product, "rule": self.rule, "column": self.column, "cells": self.cells,
                "message": self.message, "examples": [dict(e) for e in self.examples]}


def check_compliance(published: Release, unprotected: Release, policy: DisclosurePolicy,
                     keys: CellKeys | None = None) -> list[Violation]:
    """Re-check a published release against its unprotected cells; an empty list means it may be published.

    Written independently of ``protect`` (it only looks at what is published and the support columns), so it
    catches a faulty ``protect`` as well as a doctored table. Under keyed rounding it needs the cell-key secret to
    know what each count should show.
    """
    require_mapping(published, "published")
    require_mapping(unprotected, "unprotected")
    if policy.cross_release == "keyed_rounding" and keys is None:
        raise ReleaseError(f"disclosure policy {policy.version} uses keyed rounding: the compliance check needs the "
                           "trust's cell-key secret")
    violations: list[Violation] = []
    joined: dict[str, pd.DataFrame] = {}
    for name, table in published.items():
        found = _check_product(name, table, unprotected, policy, violations, keys)
        if found is not None:
            joined[name] = found
    _check_margins(joined, policy, violations)
    return violations


def _flag(violations: list[Violation], name: str, rule: str, column: str | None, mask: pd.Series,
          frame: pd.DataFrame, grain: tuple[str, ...], message: str) -> None:
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        examples = tuple(frame.loc[mask, list(grain)].head(5).astype(str).to_dict("records"))
        violations.append(Violation(name, rule, column, int(mask.sum()), message, examples))


def _expected_counts(name: str, both: pd.DataFrame, col: str, true: pd.Series, policy: DisclosurePolicy,
                     keys: CellKeys | None) -> pd.Series:
    """What a count should show when published: nearest multiple (plain) or floor of count + offset (keyed)."""
    base = policy.rounding_base
    if keys is None or policy.cross_release != "keyed_rounding":
        return np.floor(true / base + 0.5) * base
    from trust_assets.lib.publish.ledger import cell_keys
    from trust_assets.lib.registry.products import product

    rules = policy.products[name]
    keyed_as = {rate.numerator: rate.denominator for rate in rules.rates}.get(col, col)
    offsets = keys.offsets(name, keyed_as, cell_keys(both, rules.grain, product(name).month_column), base)
    return np.floor((true + offsets) / base) * base


def _check_pay_precision(name: str, both: pd.DataFrame, stat: str, policy: DisclosurePolicy,
                         violations: list[Violation], grain: tuple[str, ...]) -> None:
    value = numeric(both, stat)
    shown = value.notna()
    _flag(violations, name, "pay_precision", stat,
          shown & ((value / policy.pay_nearest - np.round(value / policy.pay_nearest)).abs() > 1e-9), both, grain,
          f"pay statistic published more precisely than to the nearest {policy.pay_nearest:g}")
    count = policy.products[name].people_count(stat)
    if count is not None:
        people = numeric(both, count)
        coarse = people.isna() | (people < policy.pay_small_below)
        steps = value / policy.pay_nearest_small
        _flag(violations, name, "pay_precision", stat, shown & coarse & ((steps - np.round(steps)).abs() > 1e-9),
              both, grain, f"pay statistic of a cell with under {policy.pay_small_below} people (as published) "
              f"not rounded to the nearest {policy.pay_nearest_small:g}")


def _check_product(name: str, table: pa.Table | pd.DataFrame, unprotected: Release,
                   policy: DisclosurePolicy, violations: list[Violation],
                   keys: CellKeys | None = None) -> pd.DataFrame | None:
    if name not in policy.products:
        violations.append(Violation(name, "unknown_product", None, 0, "product is not in the disclosure policy"))
        return None
    rules = policy.products[name]
    pub = to_frame(table, name)
    support = [c for c in pub.columns if c.startswith(SUPPORT_PREFIX)]
    if support:
        violations.append(Violation(name, "support_column", None, 0, f"support columns published: {support}"))
    expected = list(rules.public_columns)
    if sorted(pub.columns) != sorted(expected):
        missing = sorted(set(expected) - set(pub.columns))
        extra = sorted(set(pub.columns) - set(expected))
        violations.append(Violation(name, "columns", None, 0, f"missing {missing}, unexpected {extra}"))
        if missing:
            return None
    if name not in unprotected:
        violations.append(Violation(name, "rows", None, len(pub), "no unprotected cells to check against"))
        return None
    raw = to_frame(unprotected[name], name)
    grain = rules.grain
    both = pub.merge(raw, on=list(grain), how="outer", suffixes=("", "__raw"), indicator=True)
    _flag(violations, name, "rows", None, both["_merge"] != "both", both, grain,
          "published rows and unprotected cells differ in their grain keys")
    both = both[both["_merge"] == "both"].reset_index(drop=True)

    def raw_col(col: str) -> pd.Series:
        return numeric(both, f"{col}__raw" if f"{col}__raw" in both.columns else col)

    t, base = policy.count_threshold, policy.rounding_base
    listed = both[SUPPRESSION_COLUMN].astype("string").fillna("")
    for col in rules.counts:
        value, true = numeric(both, col), raw_col(col)
        shown = value.notna()
        _flag(violations, name, "count_threshold", col, shown & ((value < t) | (true < t)), both, grain,
              f"published count where the count is below {t}")
        _flag(violations, name, "count_rounding", col, shown & (value % base != 0), both, grain,
              f"published count is not a multiple of {base}")
        expected_value = _expected_counts(name, both, col, true, policy, keys)
        _flag(violations, name, "count_value", col, shown & (value != expected_value), both, grain,
              f"published count is not the unprotected count rounded by the policy ({policy.cross_release})")
    for stat in rules.pay:
        shown = numeric(both, stat).notna()
        s = {role: raw_col(c).fillna(0) for role, c in pay_support(stat).items()}
        _flag(violations, name, "pay_contributors", stat,
              shown & ((s["people"] < policy.pay_min_people) | (s["employers"] < policy.pay_min_employers)),
              both, grain, f"fewer than {policy.pay_min_people} people or {policy.pay_min_employers} employers")
        top = s["top1"] + (s["top2"] if policy.dominance_n == 2 else 0)
        _flag(violations, name, "pay_dominance", stat, shown & (top >= policy.dominance_k / 100 * s["total"]),
              both, grain, f"the largest {policy.dominance_n} employers hold {policy.dominance_k}% or more")
        _flag(violations, name, "pay_p_percent", stat,
              shown & ((s["total"] - s["top1"] - s["top2"]) < policy.p_percent / 100 * s["top1"]),
              both, grain, f"p% rule ({policy.p_percent}%) fails")
        _check_pay_precision(name, both, stat, policy, violations, grain)
    for rate in rules.rates:
        value = numeric(both, rate.column)
        shown = value.notna()
        num, den = numeric(both, rate.numerator), numeric(both, rate.denominator)
        _flag(violations, name, "rate_denominator", rate.column,
              shown & ~(raw_col(rate.denominator) >= policy.rate_min_denominator), both, grain,
              f"rate published with an unrounded denominator below {policy.rate_min_denominator}")
        _flag(violations, name, "rate_suppressed_count", rate.column, shown & (num.isna() | den.isna()), both,
              grain, "rate published while its numerator or denominator is suppressed")
        _flag(violations, name, "rate_range", rate.column, shown & ((value < 0) | (value > 1)), both, grain,
              "rate outside [0, 1]")
        if policy.rate_basis == "rounded_counts":
            derived = (num / den).clip(upper=1).round(policy.rate_decimals)
            _flag(violations, name, "rate_derivation", rate.column,
                  shown & num.notna() & den.notna() & ((value - derived).abs() > 10.0 ** -(policy.rate_decimals + 3)),
                  both, grain, "rate is not published numerator / published denominator, so it leaks the "
                  "unrounded counts")
    for col in rules.measures:
        hidden = both[col].isna() & raw_col(col).notna()
        cited = listed.str.contains(rf"(?:^|;){col}:", regex=True)
        _flag(violations, name, "suppression_reason", col, hidden ^ cited, both, grain,
              "suppression column and suppressed values disagree")
        _check_status(violations, name, col, both, listed, grain)
    return both


def _check_status(violations: list[Violation], name: str, col: str, both: pd.DataFrame, listed: pd.Series,
                  grain: tuple[str, ...]) -> None:
    """<col>_status agrees with the value and the suppression reasons: published iff a value is shown,
    suppressed_<reason> iff ``suppression`` cites col:<reason>, else one of the two "no value" statuses."""
    status = both[status_column(col)].astype("string").fillna("")
    reason = listed.str.extract(rf"(?:^|;){col}:([a-z_]+)", expand=False).fillna("")
    expected = (STATUS_SUPPRESSED_PREFIX + reason).where(reason != "", STATUS_PUBLISHED)
    shown = both[col].notna()
    empty = status.isin([STATUS_NOT_YET_OBSERVABLE, STATUS_NOT_APPLICABLE])
    wrong = (shown & (status != STATUS_PUBLISHED)) | (~shown & (reason != "") & (status != expected)) | (
        ~shown & (reason == "") & ~empty)
    _flag(violations, name, "status", col, wrong, both, grain,
          f"{status_column(col)} disagrees with the published value or its suppression reason")


def _check_margins(joined: Mapping[str, pd.DataFrame], policy: DisclosurePolicy,
                   violations: list[Violation]) -> None:
    """Within every linked group, each side holds 0 or >= 2 suppressed cells (a lone cell needs the others hidden)."""
    for margin in policy.margins:
        for measure in margin.measures:
            parts = []
            for i, side in enumerate(margin.sides):
                if side.product not in joined:
                    continue
                both = joined[side.product]
                raw = both[f"{measure}__raw"]
                cells = pd.DataFrame({"side": i, **{f"g{j}": both[c] for j, c in enumerate(side.group_by)},
                                      "hidden": both[measure].isna() & raw.notna(), "present": raw.notna()})
                parts.append(cells[cells["present"]])
            if not parts:
                continue
            cells = pd.concat(parts, ignore_index=True)
            keys = [c for c in cells.columns if c.startswith("g")]
            per_side = cells.groupby(["side", *keys], dropna=False).agg(
                n=("hidden", "size"), k=("hidden", "sum")).reset_index()
            lone_groups = per_side[(per_side["k"] == 1) & (per_side["n"] == 1)][keys].drop_duplicates()
            total_known = per_side[per_side["k"] == 0].merge(lone_groups, on=keys)
            bad = pd.concat([per_side[(per_side["k"] == 1) & (per_side["n"] > 1)], total_known])
            for side_index, rows in bad.groupby("side"):
                side = margin.sides[int(side_index)]
                examples = tuple(rows[keys].head(5).rename(columns=dict(zip(keys, side.group_by, strict=True)))
                                 .astype(str).to_dict("records"))
                violations.append(Violation(
                    side.product, "secondary", measure, len(rows),
                    f"margin {margin.name}: a suppressed cell is recoverable by differencing the published "
                    f"cells of its group {list(side.group_by)}", examples))
