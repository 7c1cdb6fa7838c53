"""Differencing across releases: what an attacker can learn about a count from every version ever published.

The attacker this module models is the strongest the issue names: they read every published version of every
product and know exactly how each correction changed each cell's true count (how many records it added or
removed). For one cell with true counts x_1..x_n over its ledger entries they know every difference d_i = x_i - x_n.

Each publication is an *observation*, an interval ``[low, high]``:

* under keyed rounding (``noise = keyed:<base>``) on y = x + u, where u in 0..base-1 is the cell's secret,
  persistent offset: a published value v gives ``[max(v, t + base - 1), v + base - 1]`` (t the threshold); a
  threshold suppression ``[0, t + base - 2]``;
  a secondary suppression ``[t + base - 1, high]``, high bounded by the smallest cell of its margin group that
  stayed published (secondary suppression takes the smallest); a cross-release suppression ``[0, inf)``;
* under plain rounding (``noise = none``) on x itself.

Then the true count x_n can be any integer of ``[max(L, A, Ylo - base + 1), min(B, Yhi)]`` where Ylo/Yhi intersect
the keyed observations shifted by d_i, A/B the plain ones, and L = x_n - min(x_i) (no version is negative). The
union over the unknown u is what keeps the set at least ``base`` wide unless the non-negativity bound L (or a plain
observation) cuts it: ``feasible_width`` computes its size, and the protection never lets it fall below
``MIN_FEASIBLE``.

Before a cell is republished, ``must_withhold`` asks whether publishing it *could* pin it for any true value the
attacker cannot yet rule out; the decision depends only on what is already public (the published history and the
known differences), never on the true value, so withholding (reason ``cross_release``) tells the attacker nothing
(simulatable auditing, Kenthapadi, Mishra & Nissim 2005). The pinned case is rare: it needs a cell whose true count
was 0 in some version and whose offset is 0, seen across many versions.

``check_differencing`` leaves out cells this release withholds (``cross_release``, observation ``[0, inf)``): a pin of
such a cell comes from earlier releases and the known differences alone (a correction that empties a cell whose
earlier publication sat at the top of its class with offset 0), and no withholding now can undo it
(docs/quality.md, "What the ledger cannot prevent").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trust_assets.lib.audit.disclosure.compliance import Violation
from trust_assets.lib.audit.disclosure.policy import SUPPRESSION_COLUMN, DisclosurePolicy

#: No cell's true count may be narrowed to fewer candidate values than this, from everything published.
MIN_FEASIBLE = 2
INF = math.inf


def noise_label(policy: DisclosurePolicy) -> str:
    return f"keyed:{policy.rounding_base}" if policy.cross_release == "keyed_rounding" else "none"


def count_observation(published: pd.Series, reason: pd.Series, policy: DisclosurePolicy,
                      secondary_high: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """What each count publication tells an attacker, as (low, high) on y (keyed) or x (plain); NaN high = inf."""
    t, b = policy.count_threshold, policy.rounding_base
    keyed = policy.cross_release == "keyed_rounding"
    v = pd.to_numeric(published, errors="coerce").astype("float64")
    why = reason.astype("string").fillna("")
    low = pd.Series(0.0, index=published.index)
    high = pd.Series(INF, index=published.index)
    shown = v.notna()
    # A published count also says it passed the threshold: y >= t + b - 1 (keyed), x >= t (plain).
    if keyed:
        low[shown], high[shown] = np.maximum(v[shown], t + b - 1), v[shown] + b - 1
    else:  # nearest multiple of b, half up: x in [v - b/2, v + b/2)
        low[shown] = np.maximum(np.ceil(v[shown] - b / 2), t)
        high[shown] = np.ceil(v[shown] + b / 2) - 1
    threshold = why == "threshold"
    high[threshold] = (t + b - 2) if keyed else (t - 1)
    secondary = why == "secondary"
    low[secondary] = (t + b - 1) if keyed else t
    if secondary_high is not None:
        high[secondary] = secondary_high[secondary].fillna(INF).astype("float64")
    return low, high.replace(INF, np.nan)


@dataclass(frozen=True)
class CellHistory:
    """One count cell's earlier entries as the attacker sees them, relative to the current true value."""

    true_values: np.ndarray
    lows: np.ndarray
    highs: np.ndarray   # inf for unbounded
    keyed: np.ndarray   # bool: observation on x + u (True) or on x (False)


def feasible_bounds(history: CellHistory, current_true: float, base: int) -> tuple[float, float]:
    """[lo, hi] of the current true count the attacker cannot rule out (see the module docstring)."""
    d = history.true_values - current_true
    lower = max(0.0, float(np.max(-d))) if d.size else 0.0
    lo, hi = lower, INF
    if history.keyed.any():
        k = history.keyed
        y_lo = float(np.max(history.lows[k] - d[k]))
        y_hi = float(np.min(history.highs[k] - d[k]))
        lo, hi = max(lo, y_lo - (base - 1)), min(hi, y_hi)
    if (~history.keyed).any():
        p = ~history.keyed
        lo = max(lo, float(np.max(history.lows[p] - d[p])))
        hi = min(hi, float(np.min(history.highs[p] - d[p])))
    return lo, hi


def feasible_width(history: CellHistory, current_true: float, base: int) -> float:
    lo, hi = feasible_bounds(history, current_true, base)
    return hi - lo + 1


def _keyed_class(y: int, policy: DisclosurePolicy) -> tuple[float, float]:
    """The observation keyed rounding would make of y (threshold suppression or the published class)."""
    t, b = policy.count_threshold, policy.rounding_base
    if y < t + b - 1:
        return 0.0, float(t + b - 2)
    v = b * (y // b)
    return float(max(v, t + b - 1)), float(v + b - 1)


def must_withhold(history: CellHistory, current_true: float, policy: DisclosurePolicy) -> bool:
    """Whether publishing the cell now could leave fewer than MIN_FEASIBLE values for some world the attacker
    cannot rule out: the simulatable cross-release rule (the true value enters only through known differences)."""
    b = policy.rounding_base
    if history.true_values.size == 0:
        return False
    lo, hi = feasible_bounds(history, current_true, b)
    d = history.true_values - current_true
    k = history.keyed
    y_lo = float(np.max(history.lows[k] - d[k])) if k.any() else -INF
    y_hi = float(np.min(history.highs[k] - d[k])) if k.any() else INF
    first, last = max(y_lo, lo), min(y_hi, hi + b - 1)
    window = 3 * b + policy.count_threshold
    # Pinning needs a bound to bite, and bounds sit at the ends of the candidate range: worlds further than a
    # few classes from both ends leave at least `base` values, so only the two ends' windows are tried.
    candidates = list(range(int(first), int(min(last, first + window)) + 1))
    if last < INF and last - first > window:
        candidates += list(range(int(last - window), int(last) + 1))
    now = CellHistory(np.append(history.true_values, current_true), np.append(history.lows, 0.0),
                      np.append(history.highs, 0.0), np.append(history.keyed, True))
    for y in candidates:
        now.lows[-1], now.highs[-1] = _keyed_class(y, policy)
        if feasible_width(now, current_true, b) < MIN_FEASIBLE:
            return True
    return False


def histories(ledger: pd.DataFrame, product: str, measure: str) -> Mapping[str, CellHistory]:
    """Per cell key, the count cell's ledger entries (oldest first) as attacker observations."""
    rows = ledger[(ledger["product"] == product) & (ledger["measure"] == measure) & (ledger["kind"] == "count")
                  & ledger["true_value"].notna()]
    out: dict[str, CellHistory] = {}
    for key, group in rows.groupby("cell_key", sort=False):
        out[str(key)] = CellHistory(
            group["true_value"].to_numpy(float), group["observed_low"].fillna(0.0).to_numpy(float),
            group["observed_high"].fillna(INF).to_numpy(float),
            group["noise"].fillna("none").str.startswith("keyed").to_numpy(bool))
    return out


def secondary_highs(name: str, published: pd.DataFrame, measure: str, policy: DisclosurePolicy) -> pd.Series:
    """Upper bound an attacker gets on each secondary-suppressed cell of ``measure``: secondary suppression takes
    the smallest publishable cell of its margin group (ties by row), so it is at most every cell of the group that
    stayed published. On y under keyed rounding, on x under plain rounding; inf where nothing bounds it."""
    b = policy.rounding_base
    keyed = policy.cross_release == "keyed_rounding"
    reason = published[SUPPRESSION_COLUMN].astype("string").fillna("").str.extract(
        rf"(?:^|;){measure}:(\w+)")[0]
    highs = pd.Series(INF, index=published.index)
    secondary = (reason == "secondary").fillna(False).to_numpy(bool)
    if not secondary.any():
        return highs
    value = pd.to_numeric(published[measure], errors="coerce").astype("float64")
    for margin in policy.margins:
        if measure not in margin.measures:
            continue
        for side in margin.sides:
            if side.product != name:
                continue
            for _, group in published.groupby(list(side.group_by), dropna=False, sort=False):
                rows = group.index.to_numpy()
                shown = rows[value.loc[rows].notna().to_numpy()]
                for row in rows[secondary[rows]]:
                    if not shown.size:
                        continue
                    v = value.loc[shown].to_numpy()
                    later = shown > row
                    if keyed:  # y <= v_c + b - 1 and v_c <= v_j (later rows) or v_c <= v_j - b (earlier rows)
                        bound = np.where(later, v + b - 1, v - 1)
                    else:      # x_c <= x_j (later) or x_c < x_j (earlier), and x_j <= v_j + ceil(b/2) - 1
                        top = v + math.ceil(b / 2) - 1
                        bound = np.where(later, top, top - 1)
                    highs.loc[row] = min(highs.loc[row], float(bound.min()))
    return highs


def _measure_reasons(published: pd.DataFrame, measure: str) -> pd.Series:
    return published[SUPPRESSION_COLUMN].astype("string").fillna("").str.extract(
        rf"(?:^|;){measure}:(\w+)")[0].astype("string")


def ledger_entries(unprotected: Mapping[str, pd.DataFrame], published: Mapping[str, pd.DataFrame],
                   policy: DisclosurePolicy, ledger: pd.DataFrame, *, release_id: str,
                   recorded_at: dt.datetime) -> pd.DataFrame:
    """This release's ledger rows: every cell and measure whose true value, published value or reason differs from
    its latest ledger entry (or that is new), with what its publication tells an attacker."""
    from trust_assets.lib.publish.ledger import LEDGER_SCHEMA, cell_keys, month_label
    from trust_assets.lib.registry.products import product

    parts = []
    for name, pub in published.items():
        rules = policy.product(name)
        month_column = product(name).month_column
        pub = pub.reset_index(drop=True)
        raw = unprotected[name]
        raw = raw.reset_index(drop=True) if isinstance(raw, pd.DataFrame) else raw.to_pandas()
        both = pub[list(rules.grain)].merge(raw, on=list(rules.grain), how="left")
        keys, months = cell_keys(pub, rules.grain, month_column), month_label(pub[month_column])
        kinds = ([(c, "count") for c in rules.counts] + [(s, "pay") for s in rules.pay]
                 + [(r.column, "rate") for r in rules.rates])
        for measure, kind in kinds:
            reason = _measure_reasons(pub, measure)
            part = pd.DataFrame({
                "product": name, "month": months, "cell_key": keys, "measure": measure, "kind": kind,
                "true_value": pd.to_numeric(both[measure], errors="coerce").astype("float64"),
                "published_value": pd.to_numeric(pub[measure], errors="coerce").astype("float64"),
                "reason": reason})
            if kind == "count":
                low, high = count_observation(pub[measure], reason, policy,
                                              secondary_highs(name, pub, measure, policy))
                part = part.assign(noise=noise_label(policy), observed_low=low.to_numpy(),
                                   observed_high=high.to_numpy())
            else:
                part = part.assign(noise=None, observed_low=np.nan, observed_high=np.nan)
            parts.append(part[part["true_value"].notna() | part["published_value"].notna() | part["reason"].notna()])
    if not parts:
        return LEDGER_SCHEMA.empty_table().to_pandas()
    entries = pd.concat(parts, ignore_index=True).assign(
        release_id=release_id, recorded_at=pd.Timestamp(recorded_at), policy_version=policy.version)
    return _changed_only(entries, ledger)[LEDGER_SCHEMA.names]


def _changed_only(entries: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Drop entries identical to their cell's latest ledger entry (same true value, publication and policy)."""
    if ledger.empty:
        return entries
    keys = ["product", "cell_key", "measure"]
    compared = ["true_value", "published_value", "reason", "noise", "policy_version"]
    latest = ledger.drop_duplicates(keys, keep="last")[keys + compared]
    joined = entries.merge(latest, on=keys, how="left", suffixes=("", "__last"), indicator=True)
    same = joined["_merge"] == "both"
    for col in compared:
        a, b = joined[col], joined[f"{col}__last"]
        same &= (a.isna() & b.isna()) | (a == b).fillna(False).astype(bool)
    return entries[~same.to_numpy(bool)].reset_index(drop=True)


def _pins(entries: pd.DataFrame, ledger: pd.DataFrame, policy: DisclosurePolicy
          ) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
    """Per (product, measure): the cell keys this release's publications would leave pinned, and the cells it
    withholds (``cross_release``, observation ``[0, inf)``) that earlier releases and the known differences pin
    already."""
    counts = entries[(entries["kind"] == "count") & entries["true_value"].notna()]
    if counts.empty:
        return {}
    combined = pd.concat([ledger, counts], ignore_index=True) if not ledger.empty else counts
    out = {}
    for (name, measure), mine in counts.groupby(["product", "measure"], sort=True):
        known = histories(combined, str(name), str(measure))
        withheld = set(mine.loc[mine["observed_low"].fillna(0.0).eq(0.0) & mine["observed_high"].isna(),
                                "cell_key"].astype(str))
        pinned = [str(key) for key in mine["cell_key"]
                  if feasible_width(known[key], float(known[key].true_values[-1]), policy.rounding_base)
                  < MIN_FEASIBLE]
        out[(str(name), str(measure))] = ([k for k in pinned if k not in withheld],
                                          [k for k in pinned if k in withheld])
    return out


def check_differencing(entries: pd.DataFrame, ledger: pd.DataFrame, policy: DisclosurePolicy) -> list[Violation]:
    """Every count this release publishes, attacked with the ledger: a violation per product and measure where
    some cell's true value would be narrowed below MIN_FEASIBLE candidates (this blocks publication). Cells
    withheld as ``cross_release`` are left out: this release tells nothing about them, so their pin (if any) is not
    this release's to prevent (see the module docstring); ``pinned_by_history`` counts them."""
    violations = []
    # A cell this release withholds (observation [0, inf): reason cross_release) adds nothing to the attack: if it
    # is pinned, earlier releases and the known differences alone pin it, and no withholding now can undo that
    # (docs/quality.md, "What the ledger cannot prevent"). Only pins this release's publications make block.
    for (name, measure), (pinned, _) in _pins(entries, ledger, policy).items():
        if pinned:
            violations.append(Violation(
                name, "differencing", measure, len(pinned),
                f"{len(pinned)} cell(s) of {measure} could be pinned to one value by differencing this release "
                "against the ledger of earlier releases", tuple({"cell_key": k} for k in pinned[:5])))
    return violations


def pinned_by_history(entries: pd.DataFrame, ledger: pd.DataFrame, policy: DisclosurePolicy) -> dict[str, int]:
    """Per product, how many count cells this release withholds that earlier releases plus exactly known
    corrections already pin (the limit of the guarantee, docs/quality.md): counted so the report can say how
    often it happened, never which cells."""
    out: dict[str, int] = {}
    for (name, _), (_, excused) in _pins(entries, ledger, policy).items():
        out[name] = out.get(name, 0) + len(excused)
    return out
