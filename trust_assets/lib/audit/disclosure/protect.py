"""Statistical disclosure control of a release: the policy's rules applied to every product of one run together.

Linked margins tie products to each other, so ``protect`` takes the whole release and returns the tables that may
be published (public columns plus ``suppression``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trust_assets.lib.audit.disclosure.policy import (
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_YET_OBSERVABLE,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED_PREFIX,
    SUPPORT_PREFIX,
    SUPPRESSION_COLUMN,
    DisclosurePolicy,
    Margin,
    ProductRules,
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


def round_to_base(values: pd.Series, base: int) -> pd.Series:
    """Round to the nearest multiple of ``base``; an exact half rounds up (12 -> 10, 13 -> 15, 12.5 -> 15).

    Counts are integers, so with base 5 the half case only arises for non-integer input; rounding half up (not to
    even) keeps the rule one line long in the docs and monotone, so a rounded numerator never exceeds its rounded
    denominator.
    """
    numbers = pd.to_numeric(values, errors="raise").astype("Float64")
    return (np.floor(numbers / base + 0.5) * base).astype("Int64")


def pay_failure(frame: pd.DataFrame, stat: str, policy: DisclosurePolicy,
                people: pd.Series | None = None) -> pd.Series:
    """Per cell, the first pay rule the cell fails (contributors, dominance, p_percent) or <NA>.

    Missing support values count as failing: no evidence of safety is treated as unsafe. ``people`` replaces the
    support column's people count (keyed rounding passes the protected lower bound of the count that counts the
    same people, so this rule and that count's threshold speak about the same value).
    """
    s = {role: numeric(frame, col).fillna(0) for role, col in pay_support(stat).items()}
    if people is not None:
        s["people"] = people.astype("Float64").fillna(0)
    contributors = (s["people"] < policy.pay_min_people) | (s["employers"] < policy.pay_min_employers)
    top = s["top1"] + (s["top2"] if policy.dominance_n == 2 else 0)
    dominance = top >= policy.dominance_k / 100 * s["total"]
    p_percent = (s["total"] - s["top1"] - s["top2"]) < policy.p_percent / 100 * s["top1"]
    reason = np.select([contributors.to_numpy(bool), dominance.to_numpy(bool), p_percent.to_numpy(bool)],
                       ["contributors", "dominance", "p_percent"], default="")
    return pd.Series(reason, index=frame.index, dtype="string").replace("", pd.NA)


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
        part = pd.DataFrame({"side": i, **keys, "row": frame.index, "value": numeric(frame, measure),
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


@dataclass(frozen=True)
class CountProtection:
    """How one count column is protected, before suppression: what its rules compare and what it would show.

    ``effective`` is what the threshold (and the rules that follow a count: pay contributors, rate denominators)
    compare: under keyed rounding the lower bound ``count + u - (base - 1)`` of the keyed value, so every decision
    depends on ``count + u`` only; under plain rounding the count itself. ``rounded`` is the value published if the
    cell is not suppressed.
    """

    effective: pd.Series
    rounded: pd.Series


def keyed_round(values: pd.Series, offsets: np.ndarray, base: int) -> pd.Series:
    """``base * floor((count + u) / base)``: keyed rounding of counts with their cells' secret offsets."""
    numbers = pd.to_numeric(values, errors="raise").astype("Float64") + offsets
    return (np.floor(numbers / base) * base).astype("Int64")


def count_protection(values: pd.Series, offsets: np.ndarray | None, policy: DisclosurePolicy) -> CountProtection:
    numbers = pd.to_numeric(values, errors="raise").astype("Float64").reset_index(drop=True)
    if offsets is None:
        return CountProtection(numbers, round_to_base(numbers, policy.rounding_base))
    effective = numbers + offsets - (policy.rounding_base - 1)
    return CountProtection(effective, keyed_round(numbers, offsets, policy.rounding_base))


def release_cell_keys(name: str, frame: pd.DataFrame, rules: ProductRules) -> pd.Series:
    """The ledger's name of each cell (grain values, month as YYYY-MM)."""
    from trust_assets.lib.publish.ledger import cell_keys
    from trust_assets.lib.registry.products import product

    return cell_keys(frame, rules.grain, product(name).month_column)


def product_counts(name: str, frame: pd.DataFrame, rules: ProductRules, policy: DisclosurePolicy,
                   keys: CellKeys | None) -> dict[str, CountProtection]:
    """Every count's protection, plus ``<stat>:people`` for pay statistics whose people are no published count."""
    keyed = policy.cross_release == "keyed_rounding"
    if keyed and keys is None:
        raise ReleaseError(f"disclosure policy {policy.version} uses keyed rounding: protect needs the trust's "
                           "cell-key secret (CellKeys.load)")
    cells = release_cell_keys(name, frame, rules) if keyed else None

    def offsets(measure: str) -> np.ndarray | None:
        if keys is None or cells is None:
            return None
        return keys.offsets(name, measure, cells, policy.rounding_base)

    # A rate's numerator shares its denominator's offset, so numerator <= denominator stays true as published
    # (cost: over many versions the gap between them is less blurred than two independent offsets would make it).
    shared = {rate.numerator: rate.denominator for rate in rules.rates}
    out = {col: count_protection(frame[col], offsets(shared.get(col, col)), policy) for col in rules.counts}
    for stat in rules.pay:
        if rules.people_count(stat) is None:
            out[f"{stat}:people"] = count_protection(frame[pay_support(stat)["people"]], offsets(f"{stat}:people"),
                                                     policy)
    return out


def round_pay(values: pd.Series, nearest: pd.Series) -> pd.Series:
    """Pay to the nearest ``nearest`` pounds per cell, an exact half up."""
    numbers = pd.to_numeric(values, errors="raise").astype("Float64")
    return np.floor(numbers / nearest + 0.5) * nearest


def _withhold_across_releases(name: str, frame: pd.DataFrame, rules: ProductRules, policy: DisclosurePolicy,
                              ledger: pd.DataFrame, reason: pd.DataFrame) -> None:
    """Reason ``cross_release`` for every count whose publication could be pinned against the ledger."""
    from trust_assets.lib.audit.disclosure.differencing import histories, must_withhold

    if ledger.empty:
        return
    cells = release_cell_keys(name, frame, rules)
    for col in rules.counts:
        known = histories(ledger, name, col)
        if not known:
            continue
        values = numeric(frame, col)
        for i, key in enumerate(cells):
            history = known.get(key)
            if history is not None and pd.notna(values.iloc[i]) and must_withhold(history, float(values.iloc[i]),
                                                                                  policy):
                reason.iloc[i, reason.columns.get_loc(col)] = "cross_release"


def protect(release: Release, policy: DisclosurePolicy, keys: CellKeys | None = None,
            ledger: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Apply the policy to a whole release and return the publishable tables (public columns + ``suppression``).

    All products of one run must come together: linked margins make a cell in one product recoverable from
    another. Pure: the inputs are not modified. Order of rules: primary count threshold and pay rules, the
    cross-release rule against the ``ledger`` of earlier releases, secondary suppression over the linked margins
    until stable, rate rules (which follow their suppressed counts), rounding of counts (keyed with ``keys`` under
    ``cross_release: keyed_rounding``) and of pay, then rates recomputed from the rounded counts when the policy's
    rate basis says so.
    """
    require_mapping(release, "release")
    frames: dict[str, pd.DataFrame] = {}
    reasons: dict[str, pd.DataFrame] = {}
    protections: dict[str, dict[str, CountProtection]] = {}
    for name, table in release.items():
        rules = policy.product(name)
        frame = to_frame(table, name)
        _check_columns(frame, rules, published=False)
        frames[name] = frame
        counts = protections[name] = product_counts(name, frame, rules, policy, keys)
        reason = pd.DataFrame(pd.NA, index=frame.index, columns=list(rules.measures), dtype="string")
        for col in rules.counts:
            small = numeric(frame, col).notna() & (counts[col].effective < policy.count_threshold)
            reason.loc[small.to_numpy(bool), col] = "threshold"
        for stat in rules.pay:
            people = counts[rules.people_count(stat) or f"{stat}:people"].effective
            failure = pay_failure(frame, stat, policy, people=people)
            reason[stat] = failure.where(numeric(frame, stat).notna(), pd.NA)
        if ledger is not None:
            _withhold_across_releases(name, frame, rules, policy, ledger, reason)
            for stat, count in rules.pay_people:
                # The contributors rule judged the withheld count's keyed value: hide its outcome too.
                withheld = (reason[count] == "cross_release").fillna(False).to_numpy(bool)
                reason.loc[withheld & numeric(frame, stat).notna().to_numpy(bool), stat] = "cross_release"
        reasons[name] = reason

    # Under keyed rounding the complement is chosen by the value it would have shown, not its true count, so
    # the choice depends on nothing keyed rounding hides.
    ordering = frames if policy.cross_release == "none" else {
        name: frame.assign(**{col: protections[name][col].rounded.to_numpy() for col in policy.products[name].counts})
        for name, frame in frames.items()}
    _secondary_suppression(policy, ordering, reasons)

    return {name: _publishable(frame, policy.products[name], policy, reasons[name], protections[name])
            for name, frame in frames.items()}


def _publishable(frame: pd.DataFrame, rules: ProductRules, policy: DisclosurePolicy, reason: pd.DataFrame,
                 counts: Mapping[str, CountProtection]) -> pd.DataFrame:
    out = frame[list(rules.dimensions)].copy()
    for col in rules.counts:
        out[col] = counts[col].rounded.mask(reason[col].notna().to_numpy()).to_numpy()
    for stat in rules.pay:
        count = rules.people_count(stat)
        # Judged on what the count shows, so the precision reveals nothing beyond it.
        people_shown = (out[count].astype("Float64") if count is not None
                        else counts[f"{stat}:people"].effective)
        coarse = (people_shown.isna() | (people_shown < policy.pay_small_below)).to_numpy(bool)
        nearest = pd.Series(np.where(coarse, policy.pay_nearest_small, policy.pay_nearest), index=frame.index)
        out[stat] = round_pay(frame[stat], nearest).mask(reason[stat].notna().to_numpy())
    for rate in rules.rates:
        den = numeric(frame, rate.denominator)
        small = den.notna() & ((counts[rate.denominator].effective < policy.rate_min_denominator)
                               | reason[rate.denominator].notna())
        numerator_gone = reason[rate.numerator].notna() & ~small
        value = numeric(frame, rate.column)
        # Only a rate the mart has (outcome observable) can be suppressed; a null stays null, unexplained.
        exists = value.notna().to_numpy(bool)
        if policy.rate_basis == "rounded_counts":
            num_pub, den_pub = out[rate.numerator].astype("Float64"), out[rate.denominator].astype("Float64")
            # Keyed rounding rounds numerator and denominator with different offsets, so the published numerator
            # can exceed its denominator by up to base - 1: the rate is capped at 1 (a function of published
            # values, so the cap reveals nothing).
            value = (num_pub / den_pub.mask(den_pub == 0)).clip(upper=1).where(exists)
        why = np.select([exists & small.to_numpy(bool), exists & numerator_gone.to_numpy(bool)],
                        ["denominator", "numerator"], default="")
        reason[rate.column] = pd.Series(why, index=frame.index, dtype="string").replace("", pd.NA)
        out[rate.column] = value.round(policy.rate_decimals).mask(reason[rate.column].notna().to_numpy())
    out[SUPPRESSION_COLUMN] = _reason_strings(reason)
    for col, status in _statuses(frame, out, reason, rules).items():
        out[status_column(col)] = status
    return out[list(rules.public_columns)]


def _statuses(mart: pd.DataFrame, out: pd.DataFrame, reason: pd.DataFrame,
              rules: ProductRules) -> dict[str, pd.Series]:
    """Per measure, why each published cell holds a value or not (``published``, ``suppressed_<reason>``, ...).

    A null the policy did not cause is ``not_yet_observable`` or ``not_applicable``, told apart by how the marts
    write nulls: counts are zero-filled, so a null count means its follow-up month is not observable yet; a pay
    statistic is unobservable when a count of its row is (an outcome not yet observable), else it is the median of
    nobody; a rate is unobservable when its numerator or denominator is.
    """
    missing = {col: numeric(mart, col).isna() for col in rules.counts}
    any_count_missing = pd.concat(missing.values(), axis=1).any(axis=1) if missing else pd.Series(
        False, index=mart.index)
    unobservable: dict[str, pd.Series] = dict(missing)
    for stat in rules.pay:
        unobservable[stat] = any_count_missing
    for rate in rules.rates:
        unobservable[rate.column] = missing[rate.numerator] | missing[rate.denominator]
    statuses = {}
    for col in rules.measures:
        why = np.where(unobservable[col].to_numpy(bool), STATUS_NOT_YET_OBSERVABLE, STATUS_NOT_APPLICABLE)
        status = pd.Series(why, index=mart.index, dtype="string")
        status = status.mask(out[col].notna().to_numpy(bool), STATUS_PUBLISHED)
        suppressed = reason[col].notna().to_numpy(bool)
        statuses[col] = status.mask(suppressed, STATUS_SUPPRESSED_PREFIX + reason[col].fillna(""))
    return statuses


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
