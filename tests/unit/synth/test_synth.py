"""The synthetic departments as the pipeline sees them: Delta tables at tiny scale, generated once per module."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.reference import load_geography
from trust_assets.lib.registry.sources import (
    BUSINESS_REGISTER,
    FE_LEARNER_AIMS,
    PAYE_EMPLOYMENTS,
    SOURCE_TABLES,
    UC_CLAIMS,
    SourceTable,
)
from trust_assets.synth.writer import SynthSummary, generate

MONTHS = 3
SEED = 7
MONTH_FIRSTS = [dt.date(2025, m, 1) for m in (1, 2, 3)]


def _make(root: Path, **options) -> SynthSummary:
    settings = {"seed": SEED, "scale": "tiny", "months": MONTHS, "start": "2025-01", **options}
    return generate(TrustPaths(root), **settings)


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, TrustPaths]:
    """Four generations: two with the same options, one with another seed, one without mess."""
    made = {}
    for name, options in {"a": {}, "b": {}, "other_seed": {"seed": SEED + 1}, "clean": {"mess": False}}.items():
        root = tmp_path_factory.mktemp(f"synth_{name}")
        _make(root, **options)
        made[name] = TrustPaths(root)
    return made


def read(paths: TrustPaths, table: SourceTable, version: int | None = None) -> pa.Table:
    return DeltaTable(str(paths.source_table(table.dept, table.table)), version=version).to_pyarrow_table()


def canonical(table: pa.Table) -> pa.Table:
    """Row order is not part of a Delta table's contents (merges may rewrite files in any order)."""
    return table.sort_by([(name, "ascending") for name in table.column_names])


def in_month(table: pa.Table, first: dt.date) -> pa.Table:
    return table.filter(pc.equal(table["month"], pa.scalar(first, pa.date32())))


# --- determinism -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", SOURCE_TABLES, ids=lambda t: t.key)
def test_same_seed_gives_identical_tables(homes, table):
    a, b = homes["a"], homes["b"]
    assert canonical(read(a, table)).equals(canonical(read(b, table)))
    path_a, path_b = (str(h.source_table(table.dept, table.table)) for h in (a, b))
    assert DeltaTable(path_a).version() == DeltaTable(path_b).version()
    # every version, not only the latest, is reproducible
    assert canonical(read(a, table, 0)).equals(canonical(read(b, table, 0)))


@pytest.mark.parametrize("table", SOURCE_TABLES, ids=lambda t: t.key)
def test_another_seed_gives_other_tables(homes, table):
    assert not canonical(read(homes["a"], table)).equals(canonical(read(homes["other_seed"], table)))


# --- structure ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", SOURCE_TABLES, ids=lambda t: t.key)
def test_schemas_are_exactly_the_registered_ones(homes, table):
    for home in ("a", "clean"):
        delta = DeltaTable(str(homes[home].source_table(table.dept, table.table)))
        assert delta.to_pyarrow_dataset().schema.remove_metadata().equals(table.schema)
        assert delta.metadata().name == table.key


def test_each_month_is_its_own_commit_and_the_correction_adds_one(homes):
    for home, extra in (("a", 1), ("clean", 0)):
        for table in SOURCE_TABLES:
            delta = DeltaTable(str(homes[home].source_table(table.dept, table.table)))
            expected = MONTHS - 1 + (extra if table is PAYE_EMPLOYMENTS else 0)
            assert delta.version() == expected, (home, table.key)
            months = [h["trust.synth.month"] for h in reversed(delta.history())]
            assert months == sorted(months) and months[0] == "2025-01" and months[-1] == "2025-03"
    # the monthly stock tables gain one month per version
    for version, first in enumerate(MONTH_FIRSTS):
        claims = read(homes["a"], UC_CLAIMS, version)
        assert pc.max(claims["month"]).as_py() == first


def test_late_correction_rewrites_an_earlier_month(homes):
    """Version 1 holds February as first sent; version 2 resubmits it with some pay revised, nothing else."""
    before = in_month(read(homes["a"], PAYE_EMPLOYMENTS, 1), MONTH_FIRSTS[1])
    after = in_month(read(homes["a"], PAYE_EMPLOYMENTS, 2), MONTH_FIRSTS[1])
    history = {h["version"]: h for h in DeltaTable(str(homes["a"].source_table("hmrc", "paye_employments"))).history()}
    assert history[2]["trust.synth.change"] == "correction of 2025-02"
    assert before.num_rows == after.num_rows > 0
    others = [c for c in before.column_names if c != "pay_gbp"]
    assert canonical(before.select(others)).equals(canonical(after.select(others)))
    changed = pc.sum(pc.not_equal(before["pay_gbp"], after["pay_gbp"]).cast(pa.int64())).as_py()
    # rows come back in the same order within the month, so a positional comparison is fair
    assert 0 < changed < 0.1 * before.num_rows
    # January is untouched by February's correction
    january = canonical(in_month(read(homes["a"], PAYE_EMPLOYMENTS, 1), MONTH_FIRSTS[0]))
    assert january.equals(canonical(in_month(read(homes["a"], PAYE_EMPLOYMENTS), MONTH_FIRSTS[0])))


# --- linkage and consistency -------------------------------------------------------------------------------------


def test_claimants_are_linked_to_payroll_in_a_plausible_share(homes):
    """About a third of UC claimants are in payrolled work; in-work regimes nearly always are."""
    claims, jobs = read(homes["a"], UC_CLAIMS), read(homes["a"], PAYE_EMPLOYMENTS)
    for first in MONTH_FIRSTS:
        month_claims = in_month(claims, first)
        claimants = month_claims.filter(pc.is_valid(month_claims["person_id"]))
        workers = set(in_month(jobs, first)["person_id"].drop_null().to_pylist())
        ids = claimants["person_id"].to_pylist()
        share = sum(i in workers for i in set(ids)) / len(set(ids))
        assert 0.25 <= share <= 0.55, share
        working = claimants.filter(pc.is_in(claimants["conditionality_regime"],
                                            pa.array(["working_with_requirements", "working_no_requirements"])))
        in_work = sum(i in workers for i in set(working["person_id"].to_pylist())) / working.num_rows
        assert in_work > 0.95
        searching = claimants.filter(pc.equal(claimants["conditionality_regime"], "searching_for_work"))
        assert sum(i in workers for i in set(searching["person_id"].to_pylist())) == 0


def test_every_employer_is_registered_and_alive_in_the_month(homes):
    register = read(homes["a"], BUSINESS_REGISTER)
    jobs = read(homes["a"], PAYE_EMPLOYMENTS)
    employers = register.filter(pc.is_valid(register["employer_id"]))
    assert len(set(employers["employer_id"].to_pylist())) == employers.num_rows
    for first in MONTH_FIRSTS:
        last = dt.date(2025, first.month + 1, 1) - dt.timedelta(days=1)
        alive = employers.filter(pc.and_(
            pc.less_equal(employers["birth_date"], pa.scalar(first, pa.date32())),
            pc.or_kleene(pc.is_null(employers["death_date"]),
                         pc.greater(employers["death_date"], pa.scalar(last, pa.date32())))))
        used = set(in_month(jobs, first)["employer_id"].to_pylist())
        assert used <= set(alive["employer_id"].to_pylist())
    # non-employing businesses have no PAYE reference and no employees
    others = register.filter(pc.is_null(register["employer_id"]))
    assert others.num_rows > employers.num_rows
    assert set(others["size_band"].to_pylist()) == {"0"}


def test_dates_are_consistent_with_the_month(homes):
    claims, jobs = read(homes["a"], UC_CLAIMS), read(homes["a"], PAYE_EMPLOYMENTS)
    for first in MONTH_FIRSTS:
        nxt = pa.scalar(dt.date(2025, first.month + 1, 1), pa.date32())
        assert pc.all(pc.less(in_month(claims, first)["claim_start_date"], nxt)).as_py()
        assert pc.all(pc.less(in_month(jobs, first)["employment_start_date"], nxt)).as_py()
    aims = read(homes["a"], FE_LEARNER_AIMS)
    open_aims = aims.filter(pc.equal(aims["outcome"], "continuing"))
    ended = aims.filter(pc.not_equal(aims["outcome"], "continuing"))
    assert open_aims["actual_end_date"].null_count == open_aims.num_rows
    assert ended["actual_end_date"].null_count == 0 and ended.num_rows > 0
    end_of_run = pa.scalar(dt.date(2025, 3, 31), pa.date32())
    assert pc.all(pc.less_equal(ended["actual_end_date"], end_of_run)).as_py()
    # an aim still continuing at the end of the run has not passed its end date
    assert pc.all(pc.greater_equal(aims["actual_end_date"], aims["start_date"])).as_py()


def test_learner_aims_update_in_place_as_they_end(homes):
    """March's commit sets outcomes on aims that were continuing in February's version."""
    february = read(homes["a"], FE_LEARNER_AIMS, 1)
    march = read(homes["a"], FE_LEARNER_AIMS, 2)
    was_open = set(february.filter(pc.equal(february["outcome"], "continuing"))["aim_id"].to_pylist())
    ended_in_march = march.filter(pc.and_(
        pc.greater_equal(march["actual_end_date"], pa.scalar(MONTH_FIRSTS[2], pa.date32())),
        pc.not_equal(march["outcome"], "continuing")))
    updated = set(ended_in_march["aim_id"].to_pylist()) & was_open
    assert updated
    assert set(ended_in_march["outcome"].to_pylist()) <= {"completed", "achieved", "withdrawn"}
    started_in_march = march.filter(pc.greater_equal(march["start_date"], pa.scalar(MONTH_FIRSTS[2], pa.date32())))
    assert started_in_march.num_rows > 0
    assert not set(started_in_march["aim_id"].to_pylist()) & set(february["aim_id"].to_pylist())
    assert set(march["ssa_tier1"].to_pylist()) <= set(range(1, 16))
    assert set(march["level"].to_pylist()) <= {"entry", "1", "2", "3", "4+"}
    nsf = march.filter(march["nsf_funded"])
    assert nsf.num_rows > 0
    assert pc.mean(pc.equal(nsf["level"], "3").cast(pa.float64())).as_py() > 0.5


# --- geography and mess ------------------------------------------------------------------------------------------

_CODE_COLUMNS = {UC_CLAIMS: "residence_la_code", PAYE_EMPLOYMENTS: "residence_la_code",
                 FE_LEARNER_AIMS: "residence_la_code", BUSINESS_REGISTER: "workplace_la_code"}


def _codes(paths: TrustPaths, table: SourceTable) -> set[str]:
    return set(read(paths, table)[_CODE_COLUMNS[table]].to_pylist())


def test_district_codes_are_real_gss_codes(homes):
    geo = load_geography()
    known = set(geo.codes)
    for table in SOURCE_TABLES:
        codes = _codes(homes["a"], table)
        assert None not in codes and codes <= known, table.key
    # abolished codes are only ones whose chain ends at a current district
    assert set(geo.abolished_codes) == set(geo.successor)
    assert set(geo.successor.values()) <= set(geo.current_codes)


def test_abolished_codes_only_with_mess(homes):
    abolished = set(load_geography().abolished_codes)
    for table in (UC_CLAIMS, PAYE_EMPLOYMENTS, BUSINESS_REGISTER):
        assert _codes(homes["a"], table) & abolished, table.key
    for table in SOURCE_TABLES:
        assert not _codes(homes["clean"], table) & abolished, table.key


def _duplicates(table: pa.Table) -> int:
    return table.num_rows - table.group_by(table.column_names).aggregate([]).num_rows


@pytest.mark.parametrize("table", [UC_CLAIMS, PAYE_EMPLOYMENTS], ids=lambda t: t.key)
def test_null_ids_and_duplicate_rows_only_with_mess(homes, table):
    messy, clean = read(homes["a"], table), read(homes["clean"], table)
    assert 0 < messy["person_id"].null_count < 0.01 * messy.num_rows
    assert 0 < _duplicates(messy) < 0.01 * messy.num_rows
    assert clean["person_id"].null_count == 0
    assert _duplicates(clean) == 0
    # the clean run is the same population: the same people claim in the same months
    assert len(set(clean["person_id"].to_pylist()) ^ set(messy["person_id"].drop_null().to_pylist())) < (
        0.02 * clean.num_rows)


def test_person_ids_are_stable_across_months_and_look_pseudonymous(homes):
    claims = read(homes["clean"], UC_CLAIMS)
    by_month = [set(in_month(claims, f)["person_id"].to_pylist()) for f in MONTH_FIRSTS]
    assert len(by_month[0] & by_month[1]) > 0.8 * len(by_month[0])
    ids = in_month(claims, MONTH_FIRSTS[0])["person_id"].to_pylist()
    assert len(ids) == len(set(ids))
    assert all(i.startswith("P") and i[1:].isdigit() and len(i) == 12 for i in ids)
    # not simply the row index in disguise
    assert sorted(ids) != ids


def test_summary_reports_every_table(homes, tmp_path):
    summary = _make(tmp_path, months=1)
    assert [t.key for t in summary.tables] == [t.key for t in SOURCE_TABLES]
    for table in summary.tables:
        assert table.version == 0
        assert table.rows == DeltaTable(str(table.path)).to_pyarrow_table().num_rows > 0
        assert table.path == TrustPaths(tmp_path).source_table(*table.key.split("/"))
