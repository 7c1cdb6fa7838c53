"""Issue 11 as it will be checked: a differencing attack over every published version, read through the official
Delta Sharing client, after small corrections to chosen cells of a department table.

The tiny home publishes one month; then DWP three times corrects that month of ``dwp/uc_claims`` (1-3 claimants
added to some local authorities, 1-3 removed from others: scripts/republish_corrections.py) and the month is
republished each time. The attacker reads every
version of every product that the sharing server serves, through ``delta_sharing.load_as_pandas(..., version=v)``,
and is told *exactly* how every cell's true count changed between the source states (computed independently by
``reference_sql`` from the department tables, so stronger than knowing how many records were added). The attack
uses only what is public: the values and ``<m>_status`` columns, and the mechanism of policies/disclosure.yaml
(``base * floor((count + u) / base)`` with a persistent secret offset ``u`` in ``0..base-1`` shared by a rate's
numerator and denominator; ``suppressed_threshold`` when ``count + u < threshold + base - 1``; a secondary
suppression is not a threshold one; ``cross_release`` says nothing). For every cell and count it enumerates every
(count, u) consistent with all versions and known differences: a cell is pinned when one count remains. Nothing may
be pinned, and no published pay statistic may carry more precision than the policy allows.

The attack is checked for soundness too: the true count and the trust's real offset (read from the home's secret)
must be among the consistent worlds of every cell, so a wrong model of the mechanism fails the test instead of
passing it vacuously.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _corpus import run

#: Four pipeline runs (one publication, three republications) on the tiny home: ~1 minute each when idle.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

MONTH = "2025-06"
#: The first publication and three republications after corrections.
STATES = 4
#: Counts above this are impossible in the tiny home; the search space of the attack ends there.
CAP = 5000


# --------------------------------------------------------------------------------------------------- corrections


def _correct_claims():
    """scripts/republish_corrections.py's ``correct_claims``: the test attacks exactly what the script does."""
    import importlib.util

    from trust_assets.lib.paths import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location("republish_corrections",
                                                  PROJECT_ROOT / "scripts" / "republish_corrections.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.correct_claims


# --------------------------------------------------------------------------------------------------- truth


def _truth(root: Path) -> dict[str, dict[tuple, dict[str, Any]]]:
    """True (unprotected) counts of every product cell, recomputed from the department tables as they are now."""
    import duckdb
    from reference_sql import build_reference, reference_frames

    con = duckdb.connect()
    try:
        build_reference(con, root, [MONTH])
        frames = reference_frames(con)
    finally:
        con.close()
    return {name: _cells(name, frame) for name, frame in frames.items()}


def _cells(name: str, frame: Any) -> dict[tuple, dict[str, Any]]:
    from trust_assets.lib.registry.products import product

    grain = product(name).grain
    out: dict[tuple, dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        key = tuple(_plain(record[g]) for g in grain)
        assert key not in out, f"{name}: grain repeats {key}"
        out[key] = {k: _plain(v) for k, v in record.items()}
    return out


def _plain(v: Any) -> Any:
    """None for every kind of null, ISO dates as YYYY-MM-DD strings, numpy scalars as Python values."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and not hasattr(v, "isoformat") and pd.isna(v)):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    return v.item() if hasattr(v, "item") else v


# --------------------------------------------------------------------------------------------------- the attack


@dataclass
class Cell:
    """What the attacker knows of one (product, grain, count): per source state, the observation and the known
    difference from state 0."""

    published: dict[int, int] = field(default_factory=dict)
    below_threshold: set[int] = field(default_factory=set)  # count + u < threshold + base - 1
    at_least_threshold: set[int] = field(default_factory=set)  # suppressed, but not for the threshold
    absent: set[int] = field(default_factory=set)  # no row: nobody in the cell
    delta: dict[int, int] = field(default_factory=dict)


def _worlds(cell: Cell, threshold: int, base: int, states: set[int] | None = None) -> np.ndarray:
    """``consistent[c0, u]``: the (count in state 0, offset) pairs that every observation (of ``states``, default
    all) allows."""
    c0 = np.arange(CAP)[:, None]
    u = np.arange(base)[None, :]
    ok = np.ones((CAP, base), dtype=bool)
    cut = threshold + base - 1
    for state, d in cell.delta.items():
        if states is not None and state not in states:
            continue
        c = c0 + d
        ok &= c >= 0
        if state in cell.published:
            ok &= (c + u >= cut) & (base * ((c + u) // base) == cell.published[state])
        if state in cell.below_threshold:
            ok &= c + u < cut
        if state in cell.at_least_threshold:
            ok &= c + u >= cut
        if state in cell.absent:
            ok &= c == 0
    return ok


def _observe(cells: dict[tuple, Cell], state: int, frame: Any, counts: list[str], name: str,
             truth: dict[tuple, dict[str, Any]], truth0: dict[tuple, dict[str, Any]]) -> None:
    """Record one served version (``frame``, read through the client) as the attacker sees it."""
    seen = _cells(name, frame) if len(frame) else {}
    for key in set(seen) | set(truth) | set(truth0):
        for measure in counts:
            cell = cells.setdefault((name, key, measure), Cell())
            c = (truth.get(key) or {}).get(measure) or 0
            c0 = (truth0.get(key) or {}).get(measure) or 0
            cell.delta[state] = int(c) - int(c0)
            row = seen.get(key)
            if row is None:  # a product has a row for every cell with someone in it
                cell.absent.add(state)
                continue
            status = row[f"{measure}_status"]
            if status == "published":
                cell.published[state] = int(row[measure])
            elif status == "suppressed_threshold":
                cell.below_threshold.add(state)
            elif status in {"suppressed_secondary"}:
                cell.at_least_threshold.add(state)


def _pay_precision_violations(frame: Any, rules: dict[str, Any], pay_rounding: dict[str, int]) -> list[str]:
    """Published pay statistics more precise than the policy: £1, or £10 under ``small_below_people`` people."""
    bad = []
    for stat in rules["pay"]:
        people = rules["pay_people"][stat]
        for value, count in zip(frame[stat], frame[people], strict=True):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            small = count is None or (isinstance(count, float) and math.isnan(count)) or \
                count < pay_rounding["small_below_people"]
            step = pay_rounding["nearest_small"] if small else pay_rounding["nearest"]
            if not math.isclose(value / step, round(value / step), abs_tol=1e-9):
                bad.append(f"{stat}={value!r} with {people}={count!r} (step {step})")
    return bad


def test_differencing_every_served_version_after_known_corrections_pins_nothing(tiny_home):
    import delta_sharing
    import yaml
    from _servers import free_port, serve_in_thread
    from deltalake import DeltaTable

    from trust_assets.lib.audit.disclosure.cellkey import CellKeys
    from trust_assets.lib.paths import AGREEMENTS_DIR, PROJECT_ROOT
    from trust_assets.lib.registry.products import PRODUCTS
    from trust_assets.sharing.app import create_app
    from trust_assets.sharing.demo import DEMO_SCHEMA, DEMO_SHARE, setup_demo_recipient
    from trust_assets.sharing.state import ServerConfig

    root = tiny_home.root
    policy = yaml.safe_load((PROJECT_ROOT / "policies" / "disclosure.yaml").read_text())
    threshold, base = policy["counts"]["threshold"], policy["counts"]["rounding_base"]
    rng = np.random.default_rng(11)

    # state s: the department tables after s corrections; version_state: product version -> the state it shows
    correct_claims = _correct_claims()
    truths, version_state, changes = [], {p.name: {} for p in PRODUCTS}, []
    for state in range(STATES):
        if state:
            changes.append(correct_claims(root, rng, MONTH, f"t{state}", cells=12))
        result = run([MONTH])
        assert result.success, result.message
        truths.append(_truth(root))
        for p in PRODUCTS:
            version_state[p.name][DeltaTable(str(tiny_home.published_product(p.name))).version()] = state
    assert all(changes), "every correction changed at least one authority"

    port = free_port()
    profile, _ = setup_demo_recipient(tiny_home, f"http://127.0.0.1:{port}/delta-sharing")
    app = create_app(ServerConfig(paths=tiny_home, agreements_dir=AGREEMENTS_DIR, rate_per_second=0))
    cells: dict[tuple, Cell] = {}
    served: dict[str, list[int]] = {}
    pay_violations: list[str] = []
    with serve_in_thread(app, port):
        for p in PRODUCTS:
            url = f"{profile}#{DEMO_SHARE}.{DEMO_SCHEMA}.{p.name}"
            rules = policy["products"][p.name]
            latest = delta_sharing.get_table_version(url)
            served[p.name] = []
            for version in range(latest + 1):
                try:
                    frame = delta_sharing.load_as_pandas(url, version=version)
                except Exception as exc:  # a version no complete release names is refused
                    assert version not in version_state[p.name], f"{p.name} v{version} refused: {exc}"
                    continue
                assert version in version_state[p.name], f"{p.name} v{version} served but named by no release"
                served[p.name].append(version)
                month = frame[p.month_column].astype(str).str[:10] == f"{MONTH}-01"
                frame = frame[month].reset_index(drop=True)
                pay_violations += [f"{p.name} v{version}: {v}" for v in
                                   _pay_precision_violations(frame, rules, policy["pay"]["rounding"])]
                state = version_state[p.name][version]
                _observe(cells, state, frame, list(rules["counts"]), p.name, truths[state][p.name],
                         truths[0][p.name])
    assert served["local_labour_market_monthly"] and len({version_state["local_labour_market_monthly"][v]
                                                          for v in served["local_labour_market_monthly"]}) == STATES
    assert not pay_violations, pay_violations[:5]

    keys = CellKeys.load(tiny_home, create=False)
    pinned, changed_cells, narrowed = [], 0, 0
    worlds = {ident: _worlds(cell, threshold, base) for ident, cell in cells.items()}
    for (name, key, measure), ok in worlds.items():
        rules = policy["products"][name]
        # A rate's numerator shares its denominator's offset: only offsets both allow remain.
        denominators = {r["numerator"]: r["denominator"] for r in rules["rates"].values()}
        partner = denominators | {v: k for k, v in denominators.items()}
        if measure in partner and (name, key, partner[measure]) in worlds:
            ok = ok & worlds[(name, key, partner[measure])].any(axis=0)[None, :]
        true0 = int((truths[0][name].get(key) or {}).get(measure) or 0)
        u = _offset(keys, name, key, denominators.get(measure, measure), base)
        assert ok[true0, u], f"{name} {key} {measure}: the true world ({true0}, u={u}) was ruled out (attack wrong)"
        counts = np.flatnonzero(ok.any(axis=1))
        changed_cells += any(cells[(name, key, measure)].delta.values())
        # The attack has teeth: differencing the versions narrows cells beyond what the first release alone says.
        first = np.flatnonzero(_worlds(cells[(name, key, measure)], threshold, base, {0}).any(axis=1))
        narrowed += counts.size < first.size
        if counts.size == 1:
            pinned.append(f"{name} {key} {measure} = {int(counts[0])} (changes {cells[(name, key, measure)].delta})")
    assert changed_cells >= 6, f"the corrections moved only {changed_cells} cells: the attack saw too little"
    assert narrowed > 0, "differencing narrowed no cell: the attack learnt nothing from the republications"
    assert not pinned, f"{len(pinned)} of {len(worlds)} cells pinned: {pinned[:5]}"
    print(f"{len(worlds)} cells attacked over {sum(map(len, served.values()))} served versions; "
          f"{changed_cells} changed by the corrections, {narrowed} narrowed by differencing, 0 pinned")


def _offset(keys: Any, name: str, key: tuple, measure: str, base: int) -> int:
    """The trust's secret offset of one cell (for the soundness check only: the attacker never has it)."""
    import pandas as pd

    from trust_assets.lib.publish.ledger import cell_keys
    from trust_assets.lib.registry.products import product

    p = product(name)
    frame = pd.DataFrame({g: [v] for g, v in zip(p.grain, key, strict=True)})
    frame[p.month_column] = pd.to_datetime(frame[p.month_column])
    return int(keys.offsets(name, measure, cell_keys(frame, p.grain, p.month_column), base)[0])
