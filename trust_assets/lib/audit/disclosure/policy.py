"""The disclosure-control policy (policies/disclosure.yaml): its schema, its rules as typed values, and the shape a
release must have.

The dbt marts hand over unprotected aggregate cells (public measures plus hidden ``sdc_`` support columns);
``protect`` and ``compliance`` both read them through the helpers here. docs/quality.md explains every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pyarrow as pa

from trust_assets.lib.paths import POLICIES_DIR
from trust_assets.lib.registry.cell_status import (  # noqa: F401 - re-exported: the policy's vocabulary
    REASONS,
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_YET_OBSERVABLE,
    STATUS_PUBLISHED,
    STATUS_SUFFIX,
    STATUS_SUPPRESSED_PREFIX,
    STATUSES,
    SUPPRESSION_COLUMN,
    status_column,
)
from trust_assets.lib.registry.products import PRODUCTS

#: The one policy file (kept beside dbt_project/ and expectations/ in the checkout).
DEFAULT_POLICY_PATH = POLICIES_DIR / "disclosure.yaml"
#: Support columns carry this prefix; they feed the rules and are never published.
SUPPORT_PREFIX = "sdc_"
#: Support columns each pay statistic needs, as sdc_<stat>_<role>.
PAY_SUPPORT_ROLES = ("people", "employers", "total", "top1", "top2")
#: How counts are protected across releases (policy ``counts.cross_release``): ``keyed_rounding`` rounds each count
#: after adding its cell's secret, persistent offset (docs/quality.md); ``none`` is plain rounding, safe within one
#: release only (kept to measure what the cross-release protection costs).
CROSS_RELEASE_METHODS = ("keyed_rounding", "none")
Release = Mapping[str, "pa.Table | pd.DataFrame"]


class PolicyError(ValueError):
    """The policy file is malformed; the message names the field."""


class ReleaseError(ValueError):
    """A release does not match the policy (unknown product, missing or unvetted column)."""


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
    #: pay statistic -> the count column that counts the same people (its contributors rule then uses that
    #: count's protected value, so the pay rule reveals nothing the count does not)
    pay_people: tuple[tuple[str, str], ...] = ()

    def people_count(self, stat: str) -> str | None:
        return dict(self.pay_people).get(stat)

    @property
    def measures(self) -> tuple[str, ...]:
        return self.counts + self.pay + tuple(r.column for r in self.rates)

    @property
    def public_columns(self) -> tuple[str, ...]:
        """What a published table holds, in this order: dimensions, each measure beside its status, reasons."""
        paired = tuple(c for m in self.measures for c in (m, status_column(m)))
        return (*self.dimensions, *paired, SUPPRESSION_COLUMN)

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
    cross_release: str = "keyed_rounding"
    #: pay statistics are rounded to the nearest ``pay_nearest`` (pounds), or ``pay_nearest_small`` when fewer
    #: than ``pay_small_below`` people contribute (judged on the protected people count)
    pay_nearest: float = 1.0
    pay_nearest_small: float = 10.0
    pay_small_below: int = 20
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
                           "rounding_base": {"type": "integer", "minimum": 1},
                           "cross_release": {"enum": list(CROSS_RELEASE_METHODS)}},
        },
        "pay": {
            "type": "object", "additionalProperties": False,
            "required": ["min_people", "min_employers", "dominance", "p_percent"],
            "properties": {
                "rounding": {"type": "object", "additionalProperties": False,
                             "required": ["nearest", "nearest_small", "small_below_people"],
                             "properties": {"nearest": {"type": "number", "exclusiveMinimum": 0},
                                            "nearest_small": {"type": "number", "exclusiveMinimum": 0},
                                            "small_below_people": {"type": "integer", "minimum": 0}}},
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
                    "pay_people": {"type": "object", "additionalProperties": {"type": "string"}},
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

    def fail(where: str, what: str) -> NoReturn:
        raise PolicyError(f"{source}: {where}: {what}")

    products = {name: _product_rules(name, spec, fail) for name, spec in raw["products"].items()}
    margins = [_margin(name, spec, products, fail) for name, spec in (raw.get("margins") or {}).items()]

    pay_rounding = raw["pay"].get("rounding") or {}
    return DisclosurePolicy(
        version=raw["version"],
        cross_release=raw["counts"].get("cross_release", "keyed_rounding"),
        pay_nearest=float(pay_rounding.get("nearest", 1.0)),
        pay_nearest_small=float(pay_rounding.get("nearest_small", 10.0)),
        pay_small_below=int(pay_rounding.get("small_below_people", 20)),
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


def _product_rules(name: str, spec: Mapping[str, Any], fail: Callable[[str, str], NoReturn]) -> ProductRules:
    """One product's rules, cross-checked against the product registry (grain) and within itself (roles)."""
    known = {p.name: p for p in PRODUCTS}
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
    bad = [c for c in columns
           if c.startswith(SUPPORT_PREFIX) or c == SUPPRESSION_COLUMN or c.endswith(STATUS_SUFFIX)]
    if bad:
        fail(where, f"{bad} are reserved names (support prefix {SUPPORT_PREFIX!r}, suffix {STATUS_SUFFIX!r} or "
             f"{SUPPRESSION_COLUMN!r})")
    pay_people = tuple((spec.get("pay_people") or {}).items())
    for stat, count in pay_people:
        if stat not in pay:
            fail(f"{where}.pay_people.{stat}", "is not a pay statistic of this product")
        if count not in counts:
            fail(f"{where}.pay_people.{stat}", f"{count!r} is not a count column")
    return ProductRules(name, grain, dims, counts, pay, rates, pay_people)


def _margin(name: str, spec: Mapping[str, Any], products: Mapping[str, ProductRules],
            fail: Callable[[str, str], NoReturn]) -> Margin:
    """One linked margin, every side checked against the products it names."""
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
    return Margin(name, tuple(spec["measures"]), sides, spec.get("description", ""))


def numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="raise").astype("Float64")


def require_mapping(release: Any, what: str) -> None:
    if not isinstance(release, Mapping):
        raise ReleaseError(f"{what} must map product name -> table, got {type(release).__name__}")


def to_frame(table: pa.Table | pd.DataFrame, product: str) -> pd.DataFrame:
    if isinstance(table, pa.Table):
        return table.to_pandas()
    if isinstance(table, pd.DataFrame):
        return table.reset_index(drop=True)
    raise ReleaseError(f"{product}: expected a pyarrow.Table or pandas.DataFrame, got {type(table).__name__}")
