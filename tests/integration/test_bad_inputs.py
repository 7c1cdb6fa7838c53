"""The bad-input corpus: what a department can get wrong, and how write–audit–publish answers.

Every case starts from a copy of the published tiny home (2025-01 published: the last good version) and damages
one department table the way its owner could. Structural damage must stop the run with an error naming the
problem. Row-level damage follows docs/quality.md: a small dose is excluded, counted and published (with exactly the
figures of the clean data, since the damage is additive), a large dose blocks. Whatever fails, no product gets a new
version and every published table still reads as it did.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from _corpus import (
    DAMAGE_SOURCE,
    PublishedState,
    RunResult,
    delete_source_month,
    exclusion_counts,
    inject,
    month_rows,
    product_month,
    published_state,
    read_source,
    replace_source_month,
    rewrite_source,
    run,
)

from trust_assets.lib.registry.products import PRODUCTS

pytestmark = pytest.mark.integration

#: Row-level doses as a share of the month's source rows. The synthetic sources already carry ~0.2% null ids and
#: ~0.2% duplicates, so whatever threshold the policy sets must lie above SMALL + that and below LARGE.
SMALL_DOSE, LARGE_DOSE = 0.003, 0.30
#: The month the row-level cases damage and rebuild: the one the published home already holds.
REBUILT_MONTH = "2025-01"


def assert_nothing_published(root, before: dict[str, PublishedState]) -> None:
    """No product has a new version, and each still reads exactly as its last good version."""
    after = published_state(root)
    for name, state in before.items():
        assert after[name].version == state.version, f"{name} got a new version after a blocked run"
        assert after[name] == state, f"{name} no longer reads as its last good version"


# --- structural: blocks outright ---------------------------------------------------------------------------------


def _rename_column(data: pa.Table) -> pa.Table:
    return data.rename_columns(["residence_code" if c == "residence_la_code" else c for c in data.column_names])


def _drop_column(data: pa.Table) -> pa.Table:
    return data.drop_columns(["conditionality_regime"])


def _retype_column(data: pa.Table) -> pa.Table:
    i = data.schema.get_field_index("pay_gbp")
    return data.set_column(i, "pay_gbp", pc.cast(data["pay_gbp"], pa.string()))


def _collapse_month(root, key: str, month: str, keep: float) -> None:
    rows = month_rows(read_source(root, key), month)
    replace_source_month(root, key, month, rows.slice(0, int(rows.num_rows * keep)))


@dataclass(frozen=True)
class Structural:
    damage: object  # (root) -> None
    month: str
    #: Words the failure must contain: the table and what is wrong with it.
    names: tuple[str, ...]


STRUCTURAL = {
    "renamed_column": Structural(lambda root: rewrite_source(root, "dwp/uc_claims", _rename_column), "2025-02",
                                 ("dwp/uc_claims", "residence_la_code", "residence_code")),
    "dropped_column": Structural(lambda root: rewrite_source(root, "dwp/uc_claims", _drop_column), "2025-02",
                                 ("dwp/uc_claims", "conditionality_regime")),
    "retyped_column": Structural(lambda root: rewrite_source(root, "hmrc/paye_employments", _retype_column),
                                 "2025-02", ("hmrc/paye_employments", "pay_gbp", "string")),
    "missing_table": Structural(
        lambda root: (root / "departments/beis/business_register").rename(
            root / "departments/beis/business_register.moved"), "2025-02", ("beis/business_register",)),
    "empty_month": Structural(lambda root: delete_source_month(root, "dwp/uc_claims", "2025-03"), "2025-03",
                              ("dwp/uc_claims", "2025-03", "no rows")),
    "month_60pct_fewer_rows": Structural(lambda root: _collapse_month(root, "dwp/uc_claims", "2025-03", 0.4),
                                         "2025-03", ("dwp/uc_claims", "2025-03", "60% fewer")),
}


@pytest.mark.parametrize("case", list(STRUCTURAL))
def test_structural_damage_blocks_with_an_error_naming_it(case, published_home):
    root = published_home.root
    spec = STRUCTURAL[case]
    before = published_state(root)
    spec.damage(root)

    result = run([spec.month])

    assert not result.success, f"{case}: the run published from a damaged source"
    missing = [word for word in spec.names if word not in result.message]
    assert not missing, f"{case}: the failure does not name {missing}:\n{result.message[:2000]}"
    if case.endswith("_column"):  # the failed check is the damaged table's own schema check
        check = spec.names[0].replace("/", "__") + "__schema failed"
        assert check in result.message, result.message[:2000]
    assert_nothing_published(root, before)


# --- row-level: exclude and count below the threshold, block above it -------------------------------------------


@pytest.mark.parametrize("kind", list(DAMAGE_SOURCE))
def test_small_dose_is_excluded_counted_and_published_unchanged(kind, published_home):
    root = published_home.root
    before = published_state(root)
    counted_before = exclusion_counts(root, REBUILT_MONTH)
    injected = inject(root, kind, REBUILT_MONTH, SMALL_DOSE)

    result = run([REBUILT_MONTH])

    assert result.success, f"{injected} {kind} rows ({SMALL_DOSE:.1%}) blocked the run:\n{result.message[:2000]}"
    after = published_state(root)
    for p in PRODUCTS:
        assert after[p.name].version == before[p.name].version + 1, f"{p.name} was not republished"
        damaged = product_month(root, p.name, REBUILT_MONTH)
        clean = product_month(root, p.name, REBUILT_MONTH, before[p.name].version)
        assert damaged.num_rows == clean.num_rows > 0
        differing = [c for c in clean.column_names if not damaged[c].equals(clean[c])]
        assert not differing, f"{kind} rows leaked into {p.name} ({differing})"
    key = (DAMAGE_SOURCE[kind], kind)
    counted = exclusion_counts(root, REBUILT_MONTH).get(key, 0) - counted_before.get(key, 0)
    assert counted == injected, f"{injected} {kind} rows injected, {counted} counted as excluded for {key}"


@dataclass(frozen=True)
class LargeDose:
    before: dict[str, PublishedState]
    injected: dict[str, int]
    result: RunResult
    root: object


@pytest.fixture(scope="module")
def large_dose(published_home_template, tmp_path_factory) -> LargeDose:
    """One run with every kind of row-level damage at LARGE_DOSE in the same month (one run, four verdicts)."""
    root = tmp_path_factory.mktemp("large-dose") / "home"
    shutil.copytree(published_home_template, root, symlinks=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("TRUST_HOME", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
        before = published_state(root)
        injected = {kind: inject(root, kind, REBUILT_MONTH, LARGE_DOSE) for kind in DAMAGE_SOURCE}
        result = run([REBUILT_MONTH])
    return LargeDose(before, injected, result, root)


#: Words one of which the blocking failure must use for each kind of damage.
LARGE_DOSE_NAMES = {"null_person_id": ("null_person_id", "person_id", "ids_not_null"),
                    "duplicate_row": ("duplicate",),
                    "unknown_code": ("unknown_code", "district", "E99999999"),
                    "negative_pay": ("negative",)}

@pytest.mark.parametrize("kind", list(DAMAGE_SOURCE))
def test_large_dose_blocks_publication_naming_the_rule(kind, large_dose):
    source = DAMAGE_SOURCE[kind]
    assert not large_dose.result.success, (
        f"{large_dose.injected[kind]} {kind} rows ({LARGE_DOSE:.0%} of {source} {REBUILT_MONTH}) were published")
    message = large_dose.result.message
    assert source in message or source.replace("/", "__") in message, message[:2000]
    assert any(word in message for word in LARGE_DOSE_NAMES[kind]), message[:2000]
    assert_nothing_published(large_dose.root, large_dose.before)
