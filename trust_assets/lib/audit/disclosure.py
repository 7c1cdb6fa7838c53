"""Statistical disclosure control for a release: the rules in policies/disclosure.yaml, applied and checked.

The dbt marts hand over unprotected aggregate cells (public measures plus hidden ``sdc_`` support columns).
``protect`` turns a whole release -- every product of one run together, because linked margins tie products to
each other -- into the tables that may be published; ``check_compliance`` is an independent re-check of a
published release against the unprotected one that the audit runs as a blocking check, so a bug in ``protect``
(or a hand-edited table) cannot reach analysts unnoticed. docs/quality.md explains every rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trust_assets.lib.paths import POLICIES_DIR
from trust_assets.lib.registry.products import PRODUCTS

#: The one policy file (kept beside dbt_project/ and expectations/ in the checkout).
DEFAULT_POLICY_PATH = POLICIES_DIR / "disclosure.yaml"
#: Support columns carry this prefix; they feed the rules and are never published.
SUPPORT_PREFIX = "sdc_"
#: The reason column of every published table.
SUPPRESSION_COLUMN = "suppression"
#: Support columns each pay statistic needs, as sdc_<stat>_<role>.
PAY_SUPPORT_ROLES = ("people", "employers", "total", "top1", "top2")
REASONS = ("threshold", "dominance", "p_percent", "contributors", "denominator", "secondary", "numerator")

Release = Mapping[str, "pa.Table | pd.DataFrame"]


class PolicyError(ValueError):
    """The policy file is malformed; the message names the field."""


class ReleaseError(ValueError):
    """A release does not match the policy (unknown product, missing or unvetted column)."""


# --------------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RateRule:
    column: str
    numerator: str
    denominator: str


@dataclass(frozen=True)
class ProductRules:
    name: str
    grain: tuple[str, ...]
    dimensions: tuple[str, ...]
    counts: tuple[str, ...]
    pay: tuple[str, ...]
    rates: tuple[RateRule, ...]

    @property
    def measures(self) -> tuple[str, ...]:
        return self.counts + self.pay + tuple(r.column for r in self.rates)

    @property
    def public_columns(self) -> tuple[str, ...]:
        """What a published table holds, in this order."""
        return (*self.dimensions, *self.measures, SUPPRESSION_COLUMN)

    def support_columns(self) -> tuple[str, ...]:
        return tuple(pay_support(stat)[role] for stat in self.pay for role in PAY_SUPPORT_ROLES)


@dataclass(frozen=True)
class MarginSide:
    product: str
    group_by: tuple[str, ...]


@dataclass(frozen=True)
class Margin:
    name: str
    measures: tuple[str, ...]
    sides: tuple[MarginSide, ...]
    description: str = ""


@dataclass(frozen=True)
class DisclosurePolicy:
    version: str
    count_threshold: int
    rounding_base: int
    pay_min_people: int
    pay_min_employers: int
    dominance_n: int
    dominance_k: float
    p_percent: float
    rate_min_denominator: int
    rate_basis: str
    rate_decimals: int
    products: dict[str, ProductRules]
    margins: tuple[Margin, ...] = field(default=())
    source: str = ""

    def product(self, name: str) -> ProductRules:
        try:
            return self.products[name]
        except KeyError:
            raise ReleaseError(f"product {name!r} is not in disclosure policy {self.version} "
                               f"({self.source}); known: {', '.join(self.products)}") from None


def pay_support(stat: str) -> dict[str, str]:
    """The support column names of one pay statistic, by role (people, employers, total, top1, top2)."""
    return {role: f"{SUPPORT_PREFIX}{stat}_{role}" for role in PAY_SUPPORT_ROLES}


_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
_POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "counts", "pay", "rates", "products"],
    "properties": {
        "version": {"type": "string", "minLength": 1},
        "counts": {
            "type": "object", "additionalProperties": False, "required": ["threshold", "rounding_base"],
            "properties": {"threshold": {"type": "integer", "minimum": 1},
                           "rounding_base": {"type": "integer", "minimum": 1}},
        },
        "pay": {
            "type": "object", "additionalProperties": False,
            "required": ["min_people", "min_employers", "dominance", "p_percent"],
            "properties": {
                "min_people": {"type": "integer", "minimum": 1},
                "min_employers": {"type": "integer", "minimum": 1},
                # Only the two largest employers' totals are supplied, so n is 1 or 2.
                "dominance": {"type": "object", "additionalProperties": False, "required": ["n", "k"],
                              "properties": {"n": {"type": "integer", "enum": [1, 2]},
                                             "k": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}}},
                "p_percent": {"type": "number", "minimum": 0, "maximum": 100},
            },
        },
        "rates": {
            "type": "object", "additionalProperties": False, "required": ["min_denominator", "basis", "decimals"],
            "properties": {"min_denominator": {"type": "integer", "minimum": 1},
                           "basis": {"enum": ["rounded_counts", "unrounded"]},
                           "decimals": {"type": "integer", "minimum": 0, "maximum": 12}},
        },
        "products": {
            "type": "object", "minProperties": 1,
            "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": ["dimensions", "counts"],
                "properties": {
                    "dimensions": _NAMES, "counts": _NAMES, "pay": _NAMES,
                    "rates": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": False, "required": ["numerator", "denominator"],
                        "properties": {"numerator": {"type": "string"}, "denominator": {"type": "string"}}}},
                },
            },
        },
        "margins": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": ["measures", "sides"],
                "properties": {
                    "description": {"type": "string"},
                    "measures": {**_NAMES, "minItems": 1},
                    "sides": {"type": "array", "minItems": 2, "items": {
                        "type": "object", "additionalProperties": False, "required": ["product", "group_by"],
                        "properties": {"product": {"type": "string"}, "group_by": {**_NAMES, "minItems": 1}}}},
                },
            },
        },
    },
}


def load_policy(path: Path | str | None = None) -> DisclosurePolicy:
    """Read and validate the policy file (default policies/disclosure.yaml); errors name the offending field."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PolicyError(f"disclosure policy not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    return parse_policy(raw, source=str(path))


def parse_policy(raw: Any, source: str = "<policy>") -> DisclosurePolicy:
    """Validate a policy mapping (structure by JSON Schema, then cross-references) and build the policy."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_POLICY_SCHEMA)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{e.json_path.removeprefix('$.') or '(top level)'}: {e.message}" for e in errors]
        raise PolicyError(f"{source}: invalid disclosure policy:\n  " + "\n  ".join(lines))

    def fail(where: str, what: str) -> None:
        raise PolicyError(f"{source}: {where}: {what}")

    known = {p.name: p for p in PRODUCTS}
    products: dict[str, ProductRules] = {}
    for name, spec in raw["products"].items():
        where = f"products.{name}"
        if name not in known:
            fail(where, f"unknown product; known: {', '.join(known)}")
        grain = known[name].grain
        dims, counts, pay = (tuple(spec.get(k, ())) for k in ("dimensions", "counts", "pay"))
        missing = [g for g in grain if g not in dims]
        if missing:
            fail(f"{where}.dimensions", f"must include the product grain; missing {missing}")
        rates = tuple(RateRule(col, r["numerator"], r["denominator"]) for col, r in (spec.get("rates") or {}).items())
        for rate in rates:
            for role in ("numerator", "denominator"):
                if getattr(rate, role) not in counts:
                    fail(f"{where}.rates.{rate.column}.{role}", f"{getattr(rate, role)!r} is not a count column")
        columns = [*dims, *counts, *pay, *(r.column for r in rates)]
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            fail(where, f"columns listed in more than one role: {dupes}")
        bad = [c for c in columns if c.startswith(SUPPORT_PREFIX) or c == SUPPRESSION_COLUMN]
        if bad:
            fail(where, f"{bad} are reserved names (support prefix {SUPPORT_PREFIX!r} or {SUPPRESSION_COLUMN!r})")
        products[name] = ProductRules(name, grain, dims, counts, pay, rates)

    margins = []
    for name, spec in (raw.get("margins") or {}).items():
        sides = tuple(MarginSide(s["product"], tuple(s["group_by"])) for s in spec["sides"])
        for i, side in enumerate(sides):
            where = f"margins.{name}.sides[{i}]"
            if side.product not in products:
                fail(where, f"product {side.product!r} is not in products")
            rules = products[side.product]
            if len(side.group_by) != len(sides[0].group_by):
                fail(f"{where}.group_by", "every side needs the same number of group_by columns")
            for col in side.group_by:
                if col not in rules.dimensions:
                    fail(f"{where}.group_by", f"{col!r} is not a dimension of {side.product}")
            for measure in spec["measures"]:
                if measure not in rules.counts:
                    fail(f"margins.{name}.measures", f"{measure!r} is not a count of {side.product}")
        margins.append(Margin(name, tuple(spec["measures"]), sides, spec.get("description", "")))

    return DisclosurePolicy(
        version=raw["version"],
        count_threshold=raw["counts"]["threshold"],
        rounding_base=raw["counts"]["rounding_base"],
        pay_min_people=raw["pay"]["min_people"],
        pay_min_employers=raw["pay"]["min_employers"],
        dominance_n=raw["pay"]["dominance"]["n"],
        dominance_k=float(raw["pay"]["dominance"]["k"]),
        p_percent=float(raw["pay"]["p_percent"]),
        rate_min_denominator=raw["rates"]["min_denominator"],
        rate_basis=raw["rates"]["basis"],
        rate_decimals=raw["rates"]["decimals"],
        products=products,
        margins=tuple(margins),
        source=source,
    )


# --------------------------------------------------------------------------------------------------- rules


def round_to_base(values: pd.Series, base: int) -> pd.Series:
    """Round to the nearest multiple of ``base``; an exact half rounds up (12 -> 10, 13 -> 15, 12.5 -> 15).

    Counts are integers, so with base 5 the half case only arises for non-integer input; rounding half up (not to
    even) keeps the rule one line long in the docs and monotone, so a rounded numerator never exceeds its rounded
    denominator.
    """
    numbers = pd.to_numeric(values, errors="raise").astype("Float64")
    return (np.floor(numbers / base + 0.5) * base).astype("Int64")


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="raise").astype("Float64")


def pay_failure(frame: pd.DataFrame, stat: str, policy: DisclosurePolicy) -> pd.Series:
    """Per cell, the first pay rule the cell fails (contributors, dominance, p_percent) or <NA>.

    Missing support values count as failing: no evidence of safety is treated as unsafe.
    """
    s = {role: _numeric(frame, col).fillna(0) for role, col in pay_support(stat).items()}
    contributors = (s["people"] < policy.pay_min_people) | (s["employers"] < policy.pay_min_employers)
    top = s["top1"] + (s["top2"] if policy.dominance_n == 2 else 0)
    dominance = top >= policy.dominance_k / 100 * s["total"]
    p_percent = (s["total"] - s["top1"] - s["top2"]) < policy.p_percent / 100 * s["top1"]
    reason = np.select([contributors.to_numpy(bool), dominance.to_numpy(bool), p_percent.to_numpy(bool)],
                       ["contributors", "dominance", "p_percent"], default="")
    return pd.Series(reason, index=frame.index, dtype="string").replace("", pd.NA)


def _require_mapping(release: Any, what: str) -> None:
    if not isinstance(release, Mapping):
        raise ReleaseError(f"{what} must map product name -> table, got {type(release).__name__}")


def _to_frame(table: pa.Table | pd.DataFrame, product: str) -> pd.DataFrame:
    if isinstance(table, pa.Table):
        return table.to_pandas()
    if isinstance(table, pd.DataFrame):
        return table.reset_index(drop=True)
    raise ReleaseError(f"{product}: expected a pyarrow.Table or pandas.DataFrame, got {type(table).__name__}")


def _check_columns(frame: pd.DataFrame, rules: ProductRules, *, published: bool) -> None:
    wanted = set(rules.dimensions) | set(rules.measures)
    missing = sorted(wanted - set(frame.columns))
    if not published:
        missing += sorted(set(rules.support_columns()) - set(frame.columns))
    if missing:
        raise ReleaseError(f"{rules.name}: missing columns {missing}")
    unvetted = sorted(c for c in frame.columns
                      if c not in wanted and not c.startswith(SUPPORT_PREFIX) and c != SUPPRESSION_COLUMN)
    if unvetted:
        raise ReleaseError(f"{rules.name}: columns {unvetted} are not in the disclosure policy; list them as "
                           "dimensions or measures (or prefix support columns with 'sdc_')")
    dupes = frame.duplicated(list(rules.grain))
    if dupes.any():
        raise ReleaseError(f"{rules.name}: {int(dupes.sum())} rows repeat the grain {list(rules.grain)}")


def _margin_cells(margin: Margin, measure: str, frames: Mapping[str, pd.DataFrame],
                  suppressed: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per non-null cell of ``measure`` on every side of the margin: side, group keys, value, suppressed."""
    parts = []
    for i, side in enumerate(margin.sides):
        if side.product not in frames:
            continue
        frame = frames[side.product]
        keys = {f"g{j}": frame[col] for j, col in enumerate(side.group_by)}
        part = pd.DataFrame({"side": i, **keys, "row": frame.index, "value": _numeric(frame, measure),
                             "suppressed": suppressed[side.product][measure].to_numpy()})
        parts.append(part[part["value"].notna()])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _exposed_sides(cells: pd.DataFrame) -> pd.DataFrame:
    """(side, group) pairs that leave a suppressed cell recoverable by differencing, per the margin rule.

    A side with exactly one suppressed cell among several is exposed (the group total is published on the other
    sides). A side whose only cell is suppressed is itself the group total, so every other side that suppresses
    nothing is exposed instead.
    """
    group_keys = [c for c in cells.columns if c.startswith("g")]
    stats = cells.groupby(["side", *group_keys], dropna=False, sort=False).agg(
        n=("suppressed", "size"), k=("suppressed", "sum")).reset_index()
    lone = stats[(stats["k"] == 1) & (stats["n"] == 1)][group_keys].drop_duplicates()
    single = (stats["k"] == 1) & (stats["n"] > 1)
    open_sides = stats[stats["k"] == 0].merge(lone, on=group_keys, how="inner")
    return pd.concat([stats[single][["side", *group_keys]], open_sides[["side", *group_keys]]],
                     ignore_index=True)


def _secondary_suppression(policy: DisclosurePolicy, frames: Mapping[str, pd.DataFrame],
                           reasons: Mapping[str, pd.DataFrame]) -> None:
    """Add complementary suppressions until no margin group exposes a suppressed cell (mutates ``reasons``)."""
    for _ in range(10_000):
        changed = False
        for margin in policy.margins:
            for measure in margin.measures:
                suppressed = {name: r.notna() for name, r in reasons.items()}
                cells = _margin_cells(margin, measure, frames, suppressed)
                if cells.empty:
                    continue
                exposed = _exposed_sides(cells)
                if exposed.empty:
                    continue
                group_keys = [c for c in cells.columns if c.startswith("g")]
                candidates = cells[~cells["suppressed"]].merge(exposed, on=["side", *group_keys])
                # The smallest other cell is the cheapest complement; ties go to the first row.
                chosen = (candidates.sort_values(["value", "row"], kind="stable")
                          .drop_duplicates(["side", *group_keys]))
                for side_index, rows in chosen.groupby("side")["row"]:
                    product = margin.sides[int(side_index)].product
                    reasons[product].loc[rows.to_numpy(), measure] = "secondary"
                    changed = changed or len(rows) > 0
        if not changed:
            return
    raise RuntimeError("secondary suppression did not converge")  # pragma: no cover - monotone, so finite


def protect(release: Release, policy: DisclosurePolicy) -> dict[str, pd.DataFrame]:
    """Apply the policy to a whole release and return the publishable tables (public columns + ``suppression``).

    All products of one run must come together: linked margins make a cell in one product recoverable from
    another. Pure: the inputs are not modified. Order of rules: primary count threshold and pay rules, secondary
    suppression over the linked margins until stable, rate rules (which follow their suppressed counts), rounding,
    then rates recomputed from the rounded counts when the policy's rate basis says so.
    """
    _require_mapping(release, "release")
    frames: dict[str, pd.DataFrame] = {}
    reasons: dict[str, pd.DataFrame] = {}
    for name, table in release.items():
        rules = policy.product(name)
        frame = _to_frame(table, name)
        _check_columns(frame, rules, published=False)
        frames[name] = frame
        reason = pd.DataFrame(pd.NA, index=frame.index, columns=list(rules.measures), dtype="string")
        for col in rules.counts:
            values = _numeric(frame, col)
            reason.loc[(values.notna() & (values < policy.count_threshold)).to_numpy(bool), col] = "threshold"
        for stat in rules.pay:
            failure = pay_failure(frame, stat, policy)
            reason[stat] = failure.where(_numeric(frame, stat).notna(), pd.NA)
        reasons[name] = reason

    _secondary_suppression(policy, frames, reasons)

    published: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        rules, reason = policy.products[name], reasons[name]
        out = frame[list(rules.dimensions)].copy()
        for col in rules.counts:
            out[col] = round_to_base(frame[col], policy.rounding_base).mask(reason[col].notna().to_numpy())
        for stat in rules.pay:
            out[stat] = _numeric(frame, stat).mask(reason[stat].notna().to_numpy())
        for rate in rules.rates:
            den = _numeric(frame, rate.denominator)
            small = den.notna() & ((den < policy.rate_min_denominator) | reason[rate.denominator].notna())
            numerator_gone = reason[rate.numerator].notna() & ~small
            value = _numeric(frame, rate.column)
            # Only a rate the mart has (outcome observable) can be suppressed; a null stays null, unexplained.
            exists = value.notna().to_numpy(bool)
            if policy.rate_basis == "rounded_counts":
                num_pub, den_pub = out[rate.numerator].astype("Float64"), out[rate.denominator].astype("Float64")
                value = (num_pub / den_pub.mask(den_pub == 0)).where(exists)
            why = np.select([exists & small.to_numpy(bool), exists & numerator_gone.to_numpy(bool)],
                            ["denominator", "numerator"], default="")
            reason[rate.column] = pd.Series(why, index=frame.index, dtype="string").replace("", pd.NA)
            out[rate.column] = value.round(policy.rate_decimals).mask(reason[rate.column].notna().to_numpy())
        out[SUPPRESSION_COLUMN] = _reason_strings(reason)
        published[name] = out[list(rules.public_columns)]
    return published


def _reason_strings(reason: pd.DataFrame) -> pd.Series:
    """``column:reason`` pairs joined by ';' per row, in column order; <NA> when nothing is suppressed."""
    combined = pd.Series(pd.NA, index=reason.index, dtype="string")
    for col in reason.columns:
        part = col + ":" + reason[col]
        combined = combined.where(part.isna(), (combined + ";" + part).fillna(part))
    return combined


def suppression_counts(published: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Suppressed cells by product, column and reason (for lineage and the evaluation report)."""
    rows: list[dict[str, Any]] = []
    for name, frame in published.items():
        pairs = frame[SUPPRESSION_COLUMN].dropna().str.split(";").explode()
        if pairs.empty:
            continue
        split = pairs.str.split(":", n=1, expand=True)
        counted = split.groupby([0, 1]).size()
        rows += [{"product": name, "column": col, "reason": why, "cells": int(n)}
                 for (col, why), n in counted.items()]
    return sorted(rows, key=lambda r: (r["product"], r["column"], r["reason"]))


# --------------------------------------------------------------------------------------------------- compliance


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


def check_compliance(published: Release, unprotected: Release, policy: DisclosurePolicy) -> list[Violation]:
    """Re-check a published release against its unprotected cells; an empty list means it may be published.

    Written independently of ``protect`` (it only looks at what is published and the support columns), so it
    catches a faulty ``protect`` as well as a doctored table.
    """
    _require_mapping(published, "published")
    _require_mapping(unprotected, "unprotected")
    violations: list[Violation] = []
    joined: dict[str, pd.DataFrame] = {}
    for name, table in published.items():
        found = _check_product(name, table, unprotected, policy, violations)
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


def _check_product(name: str, table: pa.Table | pd.DataFrame, unprotected: Release,
                   policy: DisclosurePolicy, violations: list[Violation]) -> pd.DataFrame | None:
    if name not in policy.products:
        violations.append(Violation(name, "unknown_product", None, 0, "product is not in the disclosure policy"))
        return None
    rules = policy.products[name]
    pub = _to_frame(table, name)
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
    raw = _to_frame(unprotected[name], name)
    grain = rules.grain
    both = pub.merge(raw, on=list(grain), how="outer", suffixes=("", "__raw"), indicator=True)
    _flag(violations, name, "rows", None, both["_merge"] != "both", both, grain,
          "published rows and unprotected cells differ in their grain keys")
    both = both[both["_merge"] == "both"].reset_index(drop=True)

    def raw_col(col: str) -> pd.Series:
        return _numeric(both, f"{col}__raw" if f"{col}__raw" in both.columns else col)

    t, base = policy.count_threshold, policy.rounding_base
    listed = both[SUPPRESSION_COLUMN].astype("string").fillna("")
    for col in rules.counts:
        value, true = _numeric(both, col), raw_col(col)
        shown = value.notna()
        _flag(violations, name, "count_threshold", col, shown & ((value < t) | (true < t)), both, grain,
              f"published count where the count is below {t}")
        _flag(violations, name, "count_rounding", col, shown & (value % base != 0), both, grain,
              f"published count is not a multiple of {base}")
        expected_value = np.floor(true / base + 0.5) * base
        _flag(violations, name, "count_value", col, shown & (value != expected_value), both, grain,
              f"published count is not the unprotected count rounded to the nearest {base}")
    for stat in rules.pay:
        shown = _numeric(both, stat).notna()
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
    for rate in rules.rates:
        value = _numeric(both, rate.column)
        shown = value.notna()
        num, den = _numeric(both, rate.numerator), _numeric(both, rate.denominator)
        _flag(violations, name, "rate_denominator", rate.column,
              shown & ~(raw_col(rate.denominator) >= policy.rate_min_denominator), both, grain,
              f"rate published with an unrounded denominator below {policy.rate_min_denominator}")
        _flag(violations, name, "rate_suppressed_count", rate.column, shown & (num.isna() | den.isna()), both,
              grain, "rate published while its numerator or denominator is suppressed")
        _flag(violations, name, "rate_range", rate.column, shown & ((value < 0) | (value > 1)), both, grain,
              "rate outside [0, 1]")
        if policy.rate_basis == "rounded_counts":
            derived = (num / den).round(policy.rate_decimals)
            _flag(violations, name, "rate_derivation", rate.column,
                  shown & num.notna() & den.notna() & ((value - derived).abs() > 10.0 ** -(policy.rate_decimals + 3)),
                  both, grain, "rate is not published numerator / published denominator, so it leaks the "
                  "unrounded counts")
    for col in rules.measures:
        hidden = both[col].isna() & raw_col(col).notna()
        cited = listed.str.contains(rf"(?:^|;){col}:", regex=True)
        _flag(violations, name, "suppression_reason", col, hidden ^ cited, both, grain,
              "suppression column and suppressed values disagree")
    return both


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
