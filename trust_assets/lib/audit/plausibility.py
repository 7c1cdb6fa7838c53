"""Product-level plausibility: a release whose coverage collapses is blocked, whatever the row rules said.

Every row rule can pass while a product is wiped out: a business register whose SIC sections turn unknown leaves
each PAYE row valid, yet the sector product loses its employers, every cell falls under the disclosure threshold
and is suppressed. So each product of a release is compared, month by month, with the last version analysts saw
and with its sources, against limits in one versioned file (``policies/plausibility.yaml``):

- **suppressed share**: the share of count cells (observed values, so "not yet observable" outcomes are not
  cells) that are suppressed may rise by at most ``max_suppressed_share_rise`` points;
- **covered**: the total published (unsuppressed) value of a count measure — the people or businesses the product
  covers — may fall by at most ``max_drop`` and rise by at most ``max_rise`` of its before figure;
- **reach**: the share of a source's rows for the month that reach the product's figures (the dbt model
  ``source_reach``) must be at least ``min_share``.

"Before" is the published version of the same month (a republication) or else the newest published month before
it (a new month). Figures below ``min_base`` are not compared: tiny bases swing on noise. Plain library code; the
audit turns the findings into the blocking ``plausibility`` check of each candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trust_assets.lib.paths import POLICIES_DIR, TrustPaths
from trust_assets.lib.registry.products import PRODUCTS, product
from trust_assets.lib.storage import is_delta_table

DEFAULT_PLAUSIBILITY_PATH = POLICIES_DIR / "plausibility.yaml"

_BOUNDS = {"type": "object", "additionalProperties": False, "required": ["max_drop"],
           "properties": {"max_drop": {"type": "number", "minimum": 0, "maximum": 1},
                          "max_rise": {"type": "number", "minimum": 0}}}
_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["version", "min_base", "products", "retractions"],
    "properties": {
        "version": {"type": "string", "minLength": 1},
        "min_base": {"type": "integer", "minimum": 0},
        "products": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "required": ["max_suppressed_share_rise", "covered", "reach"],
            "properties": {
                "max_suppressed_share_rise": {"type": "number", "minimum": 0, "maximum": 1},
                "covered": {"type": "object", "additionalProperties": _BOUNDS},
                "reach": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": False, "required": ["min_share"],
                    "properties": {"min_share": {"type": "number", "minimum": 0, "maximum": 1}}}},
            }}},
        "retractions": {"type": "object", "additionalProperties": False, "required": ["max_month_row_loss"],
                        "properties": {"max_month_row_loss": {"type": "number", "minimum": 0, "maximum": 1}}},
    },
}


class PlausibilityPolicyError(ValueError):
    """The plausibility policy file is malformed; the message names the field."""


@dataclass(frozen=True)
class Bounds:
    max_drop: float
    max_rise: float | None = None


@dataclass(frozen=True)
class ProductLimits:
    max_suppressed_share_rise: float
    covered: Mapping[str, Bounds]
    #: source key -> minimum share of its rows reaching the product
    reach: Mapping[str, float]


@dataclass(frozen=True)
class PlausibilityPolicy:
    version: str
    min_base: int
    products: Mapping[str, ProductLimits]
    #: a source month the last release read that lost more than this share of its rows is a retraction
    max_month_row_loss: float
    source: str = str(DEFAULT_PLAUSIBILITY_PATH)

    @property
    def label(self) -> str:
        return f"{Path(self.source).name} {self.version}"


def load_plausibility(path: Path | str | None = None) -> PlausibilityPolicy:
    """Read and validate the policy (default policies/plausibility.yaml); errors name the offending field."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_PLAUSIBILITY_PATH
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PlausibilityPolicyError(f"plausibility policy not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PlausibilityPolicyError(f"{path}: not valid YAML: {exc}") from None
    return parse_plausibility(raw, source=str(path))


def parse_plausibility(raw: Any, source: str = "<plausibility policy>") -> PlausibilityPolicy:
    """Validate the structure (JSON Schema), then that products and measures exist; build the policy."""
    import jsonschema

    from trust_assets.lib.audit.disclosure.policy import load_policy

    errors = sorted(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{e.json_path.removeprefix('$.') or '(top level)'}: {e.message}" for e in errors]
        raise PlausibilityPolicyError(f"{source}: invalid plausibility policy:\n  " + "\n  ".join(lines))
    disclosure = load_policy()
    products: dict[str, ProductLimits] = {}
    for name, limits in raw["products"].items():
        if name not in {p.name for p in PRODUCTS}:
            raise PlausibilityPolicyError(f"{source}: products.{name}: not a product")
        for measure in limits["covered"]:
            if measure not in disclosure.product(name).counts:
                raise PlausibilityPolicyError(f"{source}: products.{name}.covered.{measure}: not a count of {name}")
        products[name] = ProductLimits(
            float(limits["max_suppressed_share_rise"]),
            {m: Bounds(float(b["max_drop"]), b.get("max_rise")) for m, b in limits["covered"].items()},
            {key: float(r["min_share"]) for key, r in limits["reach"].items()})
    missing = sorted({p.name for p in PRODUCTS} - set(products))
    if missing:
        raise PlausibilityPolicyError(f"{source}: products: no limits for {', '.join(missing)}")
    return PlausibilityPolicy(raw["version"], raw["min_base"], products,
                              float(raw["retractions"]["max_month_row_loss"]), source)


@dataclass(frozen=True)
class Finding:
    """One comparison: a product's measure in a month, before and after, against its limit."""

    product: str
    measure: str
    month: str
    before: float | None
    after: float
    limit: str
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _month_keys(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%Y-%m")


def month_figures(frame: pd.DataFrame, name: str) -> dict[str, dict[str, float]]:
    """Per month: observed and suppressed count cells, and each count measure's published total."""
    from trust_assets.lib.audit.disclosure.policy import SUPPRESSION_COLUMN, load_policy

    counts = load_policy().product(name).counts
    if frame is None or not len(frame):
        return {}
    months = _month_keys(frame[product(name).month_column])
    reasons = frame[SUPPRESSION_COLUMN] if SUPPRESSION_COLUMN in frame else pd.Series([None] * len(frame))
    suppressed = reasons.fillna("").map(
        lambda cell: sum(1 for pair in cell.split(";") if pair and pair.split(":")[0] in counts))
    figures: dict[str, dict[str, float]] = {}
    for month in sorted(set(months)):
        rows = frame[(months == month).to_numpy()]
        held = int(sum(rows[c].notna().sum() for c in counts))
        withheld = int(suppressed[(months == month).to_numpy()].sum())
        figures[month] = {"cells": float(held + withheld), "suppressed": float(withheld),
                          **{c: float(pd.to_numeric(rows[c]).fillna(0).sum()) for c in counts}}
    return figures


def baseline_month(month: str, published_months: list[str]) -> str | None:
    """The published month to compare ``month`` with: itself if published, else the newest before it."""
    if month in published_months:
        return month
    earlier = [m for m in published_months if m < month]
    return max(earlier) if earlier else None


def _pct(value: float) -> str:
    return f"{value:.1%}"


def check_product(name: str, candidate: pd.DataFrame, published: pd.DataFrame | None, reach: pd.DataFrame | None,
                  policy: PlausibilityPolicy) -> list[Finding]:
    """Every comparison of one product's release against its last published version and its sources."""
    limits = policy.products[name]
    after, before = month_figures(candidate, name), month_figures(published, name) if published is not None else {}
    findings: list[Finding] = []
    for month, figures in sorted(after.items()):
        base_month = baseline_month(month, sorted(before))
        if base_month is not None:
            findings += _against_before(name, month, base_month, before[base_month], figures, limits, policy)
    if reach is not None and len(reach):
        findings += _against_sources(name, reach, limits, policy)
    return findings


def _against_before(name: str, month: str, base_month: str, old: Mapping[str, float], new: Mapping[str, float],
                    limits: ProductLimits, policy: PlausibilityPolicy) -> list[Finding]:
    found = []
    where = month if base_month == month else f"{month} (before: {base_month})"
    if old["cells"] >= policy.min_base and new["cells"]:
        share_old, share_new = old["suppressed"] / old["cells"], new["suppressed"] / new["cells"]
        ok = share_new - share_old <= limits.max_suppressed_share_rise
        found.append(Finding(
            name, "suppressed_share", month, share_old, share_new, f"+{limits.max_suppressed_share_rise:.0%} points",
            ok, f"{name}: share of count cells suppressed in {where} rose from {_pct(share_old)} "
            f"({int(old['suppressed'])} of {int(old['cells'])}) to {_pct(share_new)} ({int(new['suppressed'])} of "
            f"{int(new['cells'])}), limit +{limits.max_suppressed_share_rise:.0%} points ({policy.label})"))
    for measure, bounds in limits.covered.items():
        was, now = old[measure], new[measure]
        if was < policy.min_base:
            continue
        change = now / was - 1
        ok = change >= -bounds.max_drop and (bounds.max_rise is None or change <= bounds.max_rise)
        limit = f"-{bounds.max_drop:.0%}" + (f"/+{bounds.max_rise:.0%}" if bounds.max_rise is not None else "")
        found.append(Finding(
            name, measure, month, was, now, limit, ok,
            f"{name}: {measure} covered (published total) in {where} {'fell' if change < 0 else 'rose'} from "
            f"{was:,.0f} to {now:,.0f} ({change:+.1%}), limit {limit} ({policy.label})"))
    return found


def _against_sources(name: str, reach: pd.DataFrame, limits: ProductLimits,
                     policy: PlausibilityPolicy) -> list[Finding]:
    found = []
    rows = reach[reach["product"] == name]
    for row in rows.itertuples(index=False):
        minimum = limits.reach.get(row.source_key)
        if minimum is None or row.source_rows < policy.min_base:
            continue
        share = row.reaching_rows / row.source_rows
        month = pd.Timestamp(row.month).strftime("%Y-%m")
        found.append(Finding(
            name, f"reach:{row.source_key}", month, float(row.source_rows), float(row.reaching_rows),
            f">={minimum:.0%}", share >= minimum,
            f"{name}: share of {row.source_key} rows of {month} reaching the product is {_pct(share)} "
            f"({row.reaching_rows:,} of {row.source_rows:,}), limit >={minimum:.0%} ({policy.label})"))
    return found


def read_reach(paths: TrustPaths, months: list[str]) -> pd.DataFrame | None:
    """The built months of the dbt model ``source_reach`` (None when the warehouse has no such table)."""
    import duckdb

    from trust_assets.lib.months import month_dates

    if not paths.warehouse.exists():
        return None
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        schema = con.execute("select table_schema from information_schema.tables where table_name = 'source_reach' "
                             "and table_type = 'BASE TABLE'").fetchone()
        if schema is None:
            return None
        return con.execute(f'select * from "{schema[0]}".source_reach where month in '
                           "(select cast(unnest(?) as date)) order by all", [month_dates(months)]).fetch_df()
    finally:
        con.close()


def read_published(paths: TrustPaths, name: str) -> pd.DataFrame | None:
    """The whole published table of a product as the latest complete release has it (the version its manifest row
    names: what analysts were given, never a commit of an interrupted release), None before its first release.
    Homes from before the manifest: the table's latest version. Aggregates: small."""
    from trust_assets.lib.publish.commit import read_months
    from trust_assets.lib.publish.releases import released_versions

    uri = str(paths.published_product(name))
    if not is_delta_table(uri):
        return None
    released = released_versions(paths, name)
    if released is not None and not released:
        return None
    version = None if released is None else max(released)
    return read_months(uri, product(name).month_column, version=version).to_pandas()


def check_release(paths: TrustPaths, candidates: Mapping[str, pd.DataFrame], months: list[str],
                  policy: PlausibilityPolicy | None = None,
                  published: Mapping[str, pd.DataFrame | None] | None = None) -> dict[str, list[Finding]]:
    """Findings per product of a release: its candidates against published/ and the run's source reach."""
    policy = policy or load_plausibility()
    reach = read_reach(paths, months)
    published = published if published is not None else {n: read_published(paths, n) for n in candidates}
    return {name: check_product(name, frame, published.get(name), reach, policy)
            for name, frame in candidates.items()}
