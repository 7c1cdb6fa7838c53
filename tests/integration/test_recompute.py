"""Every product figure, recomputed independently from the department tables, equals what the trust builds.

One tiny synthetic home per module (synth seed 7, 8 months) plus one extra commit per department table with
hand-made mess that the generator does not produce (former and split county codes, codes that cannot be
conformed, null codes and attributes, non-positive pay, employers missing from the register or with several rows,
lower-case and invalid SIC sections, out-of-range sector subject areas, identical non-employing businesses). The
pipeline runs once through ``trust_assets.runs.execute.run_months``; ``reference_sql`` recomputes the four products in
plain DuckDB SQL from the written definitions (docs/products.md), never from the dbt models.

Readings where the definitions leave room (also in reference_sql's docstring):

- An abolished code follows ``replaced-by`` to a current district; a county split between two successors goes
  whole to the larger by 2020 population (docs/products.md rule 4); a current district's ``former-gss-codes``
  map to it. Anything else (county councils, unknown, null codes) is dropped from every product, outcomes
  included, so a paye row with an unconformable residence never puts its person in work.
- Exact duplicate rows count once, except non-employing businesses: they have no key, so identical rows may be
  two businesses and are counted as reported (docs/products.md; the brief's "duplicates count once" is read as
  applying to keyed rows). An employer_id with several register rows uses the most recently born one.
- Alive in month m: ``birth_date`` null or <= the last day of m, and ``death_date`` null or >= the first day of m.
- sector_region_monthly places an employment by its employer's register row when that business is alive.
- A cohort member with two uc_claims rows in the cohort month counts once in each cell those rows give; an
  unrecorded age band is ``unknown``; a null disability or nsf_funded would be its own cell (not injected: the
  GX suites refuse null dimensions, see the report).
- Support columns are 0 where nobody contributes, and null where the follow-up month is not yet observable.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

MONTHS = [f"2025-{m:02d}" for m in range(1, 9)]
PERSON_COLUMNS = {"person_id", "employer_id", "aim_id"}
REL = 1e-9


# --------------------------------------------------------------------------------------------------- the home


def _d(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _mess_rows(existing_employers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Rows the generator never writes, one commit per table, each aimed at one conformance rule."""
    alive, twice = existing_employers[:2]
    uc = [
        # former GSS code of East Hertfordshire, no age band recorded
        dict(person_id="ZZ008", month=_d("2025-01-01"), residence_la_code="E07000097", age_band=None, sex="F",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-01-15")),
        # two differing rows for one person and month: neither can be trusted, both are left out
        # (conflicting_duplicate, docs/quality.md)
        dict(person_id="ZZ001", month=_d("2025-01-01"), residence_la_code="E07000097", age_band=None, sex="F",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-01-15")),
        dict(person_id="ZZ001", month=_d("2025-01-01"), residence_la_code="E07000097", age_band="25-34", sex="F",
             disability=True, conditionality_regime="planning_for_work", claim_start_date=_d("2025-01-15")),
        # Cumbria county code: split, goes whole to Cumberland
        dict(person_id="ZZ002", month=_d("2025-02-01"), residence_la_code="E10000006", age_band="35-49", sex="M",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-02-03")),
        # not conformable: a county council, an unknown code, a null code
        dict(person_id="ZZ003", month=_d("2025-02-01"), residence_la_code="E10000014", age_band="35-49", sex="M",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-02-03")),
        dict(person_id="ZZ004", month=_d("2025-02-01"), residence_la_code="E99999999", age_band="35-49", sex="M",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-02-03")),
        dict(person_id="ZZ005", month=_d("2025-02-01"), residence_la_code=None, age_band="35-49", sex="M",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-02-03")),
        # Northamptonshire (split to West Northamptonshire); the claim started before the month: in no cohort
        dict(person_id="ZZ006", month=_d("2025-02-01"), residence_la_code="E10000021", age_band="16-24", sex="F",
             disability=False, conditionality_regime="searching_for_work", claim_start_date=_d("2025-01-28")),
    ]
    # a claimant whose only follow-up pay record has an unconformable residence code
    uc.append(dict(person_id="ZZ007", month=_d("2025-01-01"), residence_la_code="E06000001", age_band="65+",
                   sex="M", disability=True, conditionality_regime="searching_for_work",
                   claim_start_date=_d("2025-01-05")))
    uc.append(dict(uc[2]))  # an exact duplicate

    def job(person, employer, month, pay, code, start="2024-01-01"):
        return dict(person_id=person, employer_id=employer, month=_d(month), pay_gbp=pay, residence_la_code=code,
                    employment_start_date=_d(start))

    paye = [
        job("ZZ001", alive, "2025-07-01", 2100.5, "E07000097"),
        job("ZZ001", "ZEMP9", "2025-07-01", 500.0, "E07000097"),  # employer missing from the register
        job("ZZ001", alive, "2025-04-01", 0.0, "E07000097"),  # zero pay: not in work
        job("ZZ002", alive, "2025-05-01", -50.0, "E06000063"),
        job("ZZ002", twice, "2025-05-01", None, "E06000063"),
        # unconformable residence: the row is excluded everywhere, workplace-based product and outcomes included
        job("ZZ007", alive, "2025-03-01", 1800.0, "E99999999"),
        job("ZZ007", alive, "2025-07-01", 1850.0, "E99999999"),
        job("ZZ008", twice, "2025-03-01", 1500.0, "E06000063"),
        job("ZZ009", "ZEMP2", "2025-06-01", 1200.0, "E06000001"),
        job("ZZ010", "ZEMP3", "2025-06-01", 1300.0, "E06000001"),
        job("ZZ011", "ZEMP4", "2025-04-01", 1400.0, "E07000190"),  # Taunton Deane -> ... -> Somerset
        job("ZZ012", "ZEMP5", "2025-02-01", 900.0, "E06000003"),
    ]
    paye.append(dict(paye[7]))

    def business(employer, section, code, birth, death=None, division="47"):
        return dict(employer_id=employer, sic_section=section, sic_division=division, workplace_la_code=code,
                    size_band="1-9", birth_date=_d(birth), death_date=_d(death))

    register = [
        business("ZEMP2", "G", "E99999998", "2020-01-01"),  # unconformable workplace
        business("ZEMP3", "Z", "E06000001", "2020-01-01"),  # not a SIC section
        business("ZEMP4", " q ", "E07000190", "2025-04-10", division="86"),
        business("ZEMP5", "C", "E06000003", None, division="10"),  # birth unknown: alive
        business(twice, "M", "E08000025", "2025-03-05", division="70"),  # a newer row for an existing employer
        business(None, "F", "E06000002", "2025-05-12", division="41"),
        business(None, "F", "E06000002", "2025-05-12", division="41"),  # identical non-employing business
        business(None, "A", "E10000021", "2025-06-02", division="01"),
    ]

    def aim(person, aim_id, start, end, outcome, ssa, code, nsf):
        return dict(person_id=person, aim_id=aim_id, start_date=_d(start), planned_end_date=_d("2025-12-31"),
                    actual_end_date=_d(end), outcome=outcome, ssa_tier1=ssa, level="2", residence_la_code=code,
                    nsf_funded=nsf)

    aims = [
        aim("ZZ001", "ZAIM1", "2024-09-01", "2025-01-20", "achieved", 16, "E07000097", True),  # no such SSA
        aim("ZZ001", "ZAIM2", "2024-09-01", "2025-01-25", "completed", 4, "E07000097", False),
        aim("ZZ013", "ZAIM3", "2025-03-03", None, "continuing", 7, "E10000006", False),
        aim("ZZ014", "ZAIM4", "2025-03-04", None, "continuing", 7, "E99999999", False),
        aim(None, "ZAIM5", "2025-03-05", None, "continuing", 7, "E06000001", False),
    ]
    aims.append(dict(aims[2]))
    return {"dwp/uc_claims": uc, "hmrc/paye_employments": paye, "beis/business_register": register,
            "dfe/fe_learner_aims": aims}


def _inject_mess(paths) -> None:
    import duckdb
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from trust_assets.lib.registry.sources import source_table

    register = DeltaTable(str(paths.source_table("beis", "business_register"))).file_uris()
    employers = [r[0] for r in duckdb.sql(
        "select employer_id from read_parquet(?) where employer_id is not null and death_date is null "
        "and birth_date < date '2024-01-01' and upper(sic_section) between 'A' and 'U' order by employer_id limit 2",
        params=[register]).fetchall()]
    for key, rows in _mess_rows(employers).items():
        table = source_table(key)
        uri = str(paths.source_table(table.dept, table.table))
        write_deltalake(uri, pa.Table.from_pylist(rows, schema=table.schema), mode="append")


@dataclass
class Built:
    home: Path
    con: Any  # DuckDB connection holding the ref_ tables
    marts: dict[str, Any]
    published: dict[str, Any]
    reference: dict[str, Any]
    policy: dict[str, Any]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    import duckdb
    import yaml
    from deltalake import DeltaTable
    from reference_sql import build_reference, reference_frames

    from trust_assets.lib.paths import PROJECT_ROOT, TrustPaths
    from trust_assets.lib.registry.products import PRODUCTS
    from trust_assets.runs.execute import run_months
    from trust_assets.synth.writer import generate

    home = tmp_path_factory.mktemp("recompute") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRUST_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        paths = TrustPaths(home)
        generate(paths, seed=7, scale="tiny", months=len(MONTHS), start=MONTHS[0])
        _inject_mess(paths)
        outcomes = run_months(paths, MONTHS, echo=lambda *_: None)
        assert all(o.success for o in outcomes), "\n".join(o.message for o in outcomes)

    con = duckdb.connect()
    build_reference(con, home, MONTHS)
    warehouse = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        marts = {p.name: warehouse.sql(f"select * from main.{p.name}").df() for p in PRODUCTS}
    finally:
        warehouse.close()
    # Delta's reader, not the bare files: the month is a partition column, held in the log, not in the parquet
    published = {p.name: DeltaTable(str(paths.published_product(p.name))).to_pyarrow_table().to_pandas()
                 for p in PRODUCTS}
    policy = yaml.safe_load((PROJECT_ROOT / "policies" / "disclosure.yaml").read_text())
    return Built(home, con, marts, published, dict(reference_frames(con)), policy)


# --------------------------------------------------------------------------------------------------- helpers


def _value(v: Any) -> Any:
    """A cell as a plain Python value: None for every kind of null, ISO strings for dates."""
    if v is None or (not isinstance(v, str) and _is_null(v)):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    if hasattr(v, "item"):
        return v.item()
    return v


def _is_null(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _rows(frame, grain: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
    rows = {}
    for record in frame.to_dict("records"):
        clean = {k: _value(v) for k, v in record.items()}
        key = tuple(clean[g] for g in grain)
        assert key not in rows, f"grain {grain} repeats {key}"
        rows[key] = clean
    return rows


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=REL)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return _close(float(a), float(b))
    return a == b


def _round5(v: int, base: int) -> int:
    return math.floor(v / base + 0.5) * base


def _grain(name: str) -> tuple[str, ...]:
    from trust_assets.lib.registry.products import product

    return product(name).grain


def _products() -> list[str]:
    from trust_assets.lib.registry.products import PRODUCTS

    return [p.name for p in PRODUCTS]


def _report(problems: list[str], what: str) -> str:
    return f"{len(problems)} {what}:\n  " + "\n  ".join(problems[:25])


# --------------------------------------------------------------------------------------------------- 1: marts


def test_the_injected_mess_reaches_the_reference(built):
    """The hand-made rows land where the readings say, so the comparisons below exercise those rules."""
    con = built.con
    rules = dict(con.sql("select source_code, rule from ref_districts where source_code in "
                         "('E07000097', 'E10000006', 'E07000190', 'E10000014')").fetchall())
    assert rules == {"E07000097": "former_code", "E10000006": "split_larger_successor", "E07000190": "successor"}
    cohort = con.sql("select age_band, disability, cohort_claimants from ref_claimant_employment_outcomes "
                     "where cohort_month = date '2025-01-01' and region = 'East of England' "
                     "and age_band = 'unknown'").fetchall()
    assert cohort == [("unknown", False, 1)]
    assert con.sql("select count(*) from ref_uc where person_id = 'ZZ001'").fetchall() == [(0,)]
    births = con.sql("select business_births from ref_local_labour_market_monthly where month = date '2025-05-01' "
                     "and local_authority_code = 'E06000002'").fetchall()
    assert births[0][0] >= 2  # the identical non-employing pair counts twice


@pytest.mark.parametrize("name", _products())
def test_every_mart_cell_equals_the_recomputation(built, name):
    """Same grain keys and same columns; counts exactly, medians, rates and pay support to 1e-9 relative."""
    grain = _grain(name)
    mart, ref = built.marts[name], built.reference[name]
    assert sorted(mart.columns) == sorted(ref.columns), (
        f"mart-only columns {sorted(set(mart.columns) - set(ref.columns))}, "
        f"reference-only {sorted(set(ref.columns) - set(mart.columns))}")
    mine, theirs = _rows(ref, grain), _rows(mart, grain)
    assert sorted(theirs, key=repr) == sorted(mine, key=repr), (
        f"cells only in the mart: {sorted(set(theirs) - set(mine), key=repr)[:10]}; "
        f"only recomputed: {sorted(set(mine) - set(theirs), key=repr)[:10]}")
    problems = [f"{key} {col}: mart {theirs[key][col]!r}, recomputed {row[col]!r}"
                for key, row in mine.items() for col in ref.columns
                if col not in grain and not _same(theirs[key][col], row[col])]
    assert not problems, _report(problems, "cells differ")


# --------------------------------------------------------------------------------------------------- 2: published


def _pay_failures(row: dict[str, Any], stat: str, pay: dict[str, Any], band: int) -> set[str | None]:
    """The outcomes the policy allows for a pay cell: a reason, or None (published).

    Under keyed rounding the contributor rule compares the keyed lower bound of the people count
    (people + u - band, u a secret 0..band), so within ``band`` above the minimum either outcome is right; the
    employer, dominance and p% rules use exact values.
    """
    s = {r: row[f"sdc_{stat}_{r}"] or 0 for r in ("people", "employers", "total", "top1", "top2")}
    if s["people"] < pay["min_people"] or s["employers"] < pay["min_employers"]:
        return {"contributors"}
    allowed: set[str | None] = {"contributors"} if s["people"] < pay["min_people"] + band else set()
    n, k = pay["dominance"]["n"], pay["dominance"]["k"]
    if s["top1"] + (s["top2"] if n == 2 else 0) >= k / 100 * s["total"]:
        return allowed | {"dominance"}
    if s["total"] - s["top1"] - s["top2"] < pay["p_percent"] / 100 * s["top1"]:
        return allowed | {"p_percent"}
    return allowed | {None}


def _reasons(text: str | None, columns: list[str]) -> dict[str, str]:
    """Parse ``col:reason;col:reason`` and require the policy's column order."""
    if text is None:
        return {}
    assert re.fullmatch(r"[a-z0-9_]+:[a-z_]+(;[a-z0-9_]+:[a-z_]+)*", text), f"malformed suppression {text!r}"
    pairs = [p.split(":") for p in text.split(";")]
    named = [c for c, _ in pairs]
    assert named == [c for c in columns if c in named], f"suppression {text!r} is not in column order"
    return dict(pairs)


@pytest.mark.parametrize("name", _products())
def test_every_published_cell_follows_from_the_recomputation(built, name):
    """Every cell follows from the recomputed value by the policy, without the trust's cell-key secret.

    Counts under keyed rounding (policy ``counts.cross_release``) show ``base * floor((x + u) / base)`` for a secret
    u in 0..base-1, so a published count is a multiple of the base within base-1 of the true count; a count below
    the threshold is always hidden, one at least base-1 above it never for the threshold. (The audit's compliance
    check, which holds the secret, checks the exact value.) Pay is rounded to the policy's pounds; rates are the
    rounded numerator over the rounded denominator. Each ``<m>_status`` says the same as the value and the reasons.
    """
    policy = built.policy
    spec = policy["products"][name]
    counts, pays = spec["counts"], spec.get("pay", [])
    rates = spec.get("rates") or {}
    measures = [*counts, *pays, *rates]
    grain = _grain(name)
    pub = built.published[name]
    assert list(pub.columns) == [*spec["dimensions"], *(c for m in measures for c in (m, f"{m}_status")),
                                 "suppression"]
    mine, published = _rows(built.reference[name], grain), _rows(pub, grain)
    assert set(published) == set(mine), "published grain keys differ from the recomputed cells"
    threshold, base = policy["counts"]["threshold"], policy["counts"]["rounding_base"]
    keyed = policy["counts"].get("cross_release") == "keyed_rounding"
    band = base - 1 if keyed else 0
    coarsest = max(policy["pay"]["rounding"].values()) if "rounding" in policy["pay"] else 0
    # secondary suppression only protects measures that sit in a linked margin of this product
    linked = {m for margin in (policy.get("margins") or {}).values() for m in margin["measures"]
              if any(side["product"] == name for side in margin["sides"])}
    problems: list[str] = []

    def bad(key, col, what):
        problems.append(f"{key} {col}: {what}")

    for key, row in mine.items():
        out = published[key]
        reasons = _reasons(out["suppression"], measures)
        for col in spec["dimensions"]:
            if not _same(out[col], row[col]):
                bad(key, col, f"dimension {out[col]!r} != {row[col]!r}")
        for col in counts:
            true, shown, why = row[col], out[col], reasons.get(col)
            if true is None:
                if shown is not None or why:
                    bad(key, col, "published although not observable")
            elif true < threshold and not (shown is None and why == "threshold"):
                bad(key, col, f"count {true} below {threshold} is {shown!r} ({why})")
            elif shown is None:
                allowed = {"cross_release"} | ({"secondary"} if col in linked else set())
                if true < threshold + band:
                    allowed.add("threshold")
                if why not in allowed:
                    bad(key, col, f"count {true} suppressed for {why!r}")
            elif why or shown % base or abs(shown - true) > band or (not keyed and shown != _round5(true, base)):
                bad(key, col, f"published {shown} for count {true} (reason {why})")
        for stat in pays:
            true, shown, why = row[stat], out[stat], reasons.get(stat)
            if true is None:
                if shown is not None or why:
                    bad(key, stat, "published although the recomputed median is null")
                continue
            allowed = _pay_failures(row, stat, policy["pay"], band)
            if shown is None:
                if why not in allowed - {None}:
                    bad(key, stat, f"suppressed for {why!r}, the policy allows {sorted(map(str, allowed))}")
            elif None not in allowed or why:
                bad(key, stat, f"should be suppressed for {sorted(map(str, allowed))}, published {shown!r} ({why})")
            elif shown != round(shown) or abs(shown - true) > coarsest / 2 + REL:
                bad(key, stat, f"published {shown!r}, recomputed {true} (rounded to at most {coarsest})")
        for col, rule in rates.items():
            true, shown, why = row[col], out[col], reasons.get(col)
            num, den = rule["numerator"], rule["denominator"]
            if true is None:
                if shown is not None or why:
                    bad(key, col, "published although not observable")
                continue
            if row[den] < policy["rates"]["min_denominator"] or out[den] is None:
                expected = "denominator"
            elif out[num] is None:
                expected = "numerator"
            else:
                expected = None
            if expected is not None:
                if shown is not None or why != expected:
                    bad(key, col, f"should be suppressed for {expected}, published {shown!r} ({why})")
                continue
            derived = round(out[num] / out[den], policy["rates"]["decimals"])
            if shown is None or why or abs(shown - derived) > 1e-12:
                bad(key, col, f"published {shown!r} ({why}), expected {out[num]}/{out[den]} = {derived}")
        for col in measures:
            status, why = out[f"{col}_status"], reasons.get(col)
            if out[col] is not None:
                expected_status = {"published"}
            elif why:
                expected_status = {f"suppressed_{why}"}
            else:
                expected_status = {"not_yet_observable", "not_applicable"}
            if status not in expected_status:
                bad(key, f"{col}_status", f"{status!r}, expected one of {sorted(expected_status)}")
        for col, why in reasons.items():
            if out.get(col) is not None:
                bad(key, col, f"listed as {why} but published")
    assert mine, "no cell was recomputed: nothing was checked"
    assert not problems, _report(problems, "published cells do not follow from the recomputation")


def test_secondary_suppression_leaves_no_cell_recoverable_from_a_linked_margin(built):
    """Per margin group each side hides 0 or >= 2 cells; a side whose only cell is hidden hides on the others."""
    problems = []
    for margin_name, margin in built.policy.get("margins", {}).items():
        for measure in margin["measures"]:
            groups: dict[tuple, dict[int, list[bool]]] = {}
            for i, side in enumerate(margin["sides"]):
                pub = _rows(built.published[side["product"]], _grain(side["product"]))
                ref = _rows(built.reference[side["product"]], _grain(side["product"]))
                for key, row in ref.items():
                    if row[measure] is None:
                        continue
                    group = tuple(row[c] for c in side["group_by"])
                    groups.setdefault(group, {}).setdefault(i, []).append(pub[key][measure] is None)
            for group, sides in groups.items():
                for i, hidden in sides.items():
                    others_hide = [sum(h) for j, h in sides.items() if j != i]
                    if sum(hidden) == 1 and len(hidden) > 1:
                        problems.append(f"{margin_name} {measure} {group}: side {i} hides one cell of {len(hidden)}")
                    if hidden == [True] and 0 in others_hide:
                        problems.append(f"{margin_name} {measure} {group}: side {i}'s total is hidden but not "
                                        "on the other side")
    assert not problems, _report(problems, "recoverable cells")


# --------------------------------------------------------------------------------------------------- 3: storage


def test_the_warehouse_holds_only_views_and_aggregates(built):
    """No base table has a person-level column or as many rows as a department table."""
    import duckdb

    from trust_assets.lib.paths import TrustPaths

    source_rows = {view: built.con.sql(f"select count(*) from {view}").fetchall()[0][0]
                   for view in ("src_uc_claims", "src_paye_employments", "src_fe_learner_aims",
                                "src_business_register")}
    con = duckdb.connect(str(TrustPaths(built.home).warehouse), read_only=True)
    try:
        tables = con.sql("select table_schema, table_name from information_schema.tables "
                         "where table_type = 'BASE TABLE'").fetchall()
        assert tables, "the warehouse has no tables at all"
        problems = []
        for schema, table in tables:
            columns = {c for (c,) in con.sql("select column_name from information_schema.columns "
                                            "where table_schema = ? and table_name = ?",
                                            params=[schema, table]).fetchall()}
            if columns & PERSON_COLUMNS:
                problems.append(f"{schema}.{table} has columns {sorted(columns & PERSON_COLUMNS)}")
            rows = con.sql(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
            same = [v for v, n in source_rows.items() if n == rows]
            if same:
                problems.append(f"{schema}.{table} has {rows} rows, as many as {same}")
    finally:
        con.close()
    assert not problems, _report(problems, "tables look like source rows")


def test_no_parquet_file_the_trust_writes_holds_person_ids(built):
    import pyarrow.parquet as pq

    from trust_assets.lib.paths import TrustPaths

    files = sorted(TrustPaths(built.home).trust.rglob("*.parquet"))
    assert files, "the trust wrote no parquet files at all (published tables are Delta)"
    leaking = {str(f): sorted(set(pq.read_schema(f).names) & PERSON_COLUMNS) for f in files}
    assert not {f: c for f, c in leaking.items() if c}
