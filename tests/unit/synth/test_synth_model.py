"""The simulated labour market itself (in memory, no Delta): flows, pay, ids and reference geography."""

from __future__ import annotations

import numpy as np
import pytest

from trust_assets.lib.registry.reference import load_geography
from trust_assets.synth import params as p
from trust_assets.synth.calendar import month_at, parse_month
from trust_assets.synth.ids import person_ids
from trust_assets.synth.model import World
from trust_assets.synth.scales import SCALES

FIRST = parse_month("2025-01")


@pytest.fixture(scope="module")
def observed():
    """Eight months of the small population, recording who was out of work and who then found work."""
    world = World.create(11, SCALES["small"], month_at(FIRST, 0))
    initial = {"employed": np.mean(world.people.job_employer[0] >= 0), "claiming": np.mean(world.people.regime >= 0),
               "second": np.mean(world.people.job_employer[1] >= 0)}
    out, entered, groups = [], [], []
    for index in range(8):
        people = world.people
        claimant_out = (people.regime >= 0) & (people.job_employer[0] < 0)
        out_of_work = people.job_employer[0] < 0
        groups.append({"age": people.age.copy(), "disabled": people.disabled.copy(), "course": people.course.copy(),
                       "claimant": claimant_out})
        world.step(month_at(FIRST, index))
        out.append(out_of_work)
        entered.append(out_of_work & (world.people.job_employer[0] >= 0))
    return world, initial, out, entered, groups


def _rate(observed, select) -> float:
    _, _, out, entered, groups = observed
    hits = sum(np.count_nonzero(e & select(g)) for e, g in zip(entered, groups, strict=True))
    base = sum(np.count_nonzero(o & select(g)) for o, g in zip(out, groups, strict=True))
    return hits / base


def test_stocks_match_the_national_shape(observed):
    world, initial, *_ = observed
    assert 0.55 < initial["employed"] < 0.65  # ~30 M employments for 48 M people
    assert 0.12 < initial["claiming"] < 0.17  # ~7 M claimants
    assert 0.02 < initial["second"] < 0.05
    # stocks drift slowly, not explosively
    assert abs(np.mean(world.people.job_employer[0] >= 0) - initial["employed"]) < 0.02
    assert abs(np.mean(world.people.regime >= 0) - initial["claiming"]) < 0.02


def test_claimants_enter_work_at_rates_that_differ_by_age_and_disability(observed):
    young = _rate(observed, lambda g: g["claimant"] & (g["age"] == 0))
    older = _rate(observed, lambda g: g["claimant"] & (g["age"] == 3))
    disabled = _rate(observed, lambda g: g["claimant"] & g["disabled"])
    not_disabled = _rate(observed, lambda g: g["claimant"] & ~g["disabled"])
    assert young > 1.5 * older
    assert not_disabled > 2 * disabled
    assert 0.003 < disabled < not_disabled < 0.10


def test_completers_find_work_more_often_than_withdrawers(observed):
    completed = _rate(observed, lambda g: g["course"] == 1)
    withdrew = _rate(observed, lambda g: g["course"] == -1)
    assert completed > 1.4 * withdrew


def test_pay_is_skewed_and_differs_by_sector(observed):
    world = observed[0]
    held = world.people.job_employer[0] >= 0
    pay = world.people.job_pay[0][held]
    section = world.register.section[world.people.job_employer[0][held]]
    assert np.mean(pay) > 1.1 * np.median(pay)  # log-normal: a long right tail
    letters = [s.section for s in p.SECTORS]
    finance, hospitality = letters.index("K"), letters.index("I")
    assert np.median(pay[section == finance]) > 2 * np.median(pay[section == hospitality])


def test_businesses_are_born_and_die_and_only_live_employers_hire(observed):
    world = observed[0]
    register = world.register
    assert np.count_nonzero(register.death >= 0) > 0
    assert len(register) > SCALES["small"].employers + SCALES["small"].non_employers
    jobs = world.people.job_employer[world.people.job_employer >= 0]
    assert register.employer[jobs].all()
    assert (register.death[jobs] == -1).all()


def test_person_ids_are_a_bijection():
    scrambler = person_ids(42)
    index = np.arange(2_000_000)
    scrambled = scrambler.scramble(index)
    assert np.all(np.diff(np.sort(scrambled)) > 0)  # no two indices share an id
    assert not np.array_equal(np.sort(scrambled[:1000]), scrambled[:1000])
    assert scrambler.ids(np.array([0, 1])).to_pylist() != person_ids(43).ids(np.array([0, 1])).to_pylist()


def test_geography_is_the_real_current_districts_and_their_predecessors():
    geo = load_geography()
    assert geo.n_current == 361
    assert abs(geo.weights.sum() - 1) < 1e-9
    assert geo.successor["E07000190"] == "E06000066"  # Taunton Deane -> Somerset West and Taunton -> Somerset
    assert geo.successor["E07000026"] == "E06000063"  # Allerdale -> Cumberland
    assert "E10000006" not in geo.successor  # Cumbria county split in two: ambiguous, never used
    birmingham = geo.codes.index("E08000025")
    assert geo.weights[birmingham] > 10 * geo.weights[geo.codes.index("E06000053")]  # Isles of Scilly


def test_demo_scale_lives_in_its_region_so_its_districts_are_real_sized():
    """The demo population is concentrated in the North East: every person and business is placed there."""
    from dataclasses import replace

    geo = load_geography()
    demo = SCALES["demo"]
    assert demo.regions == ("North East",) and demo.people == SCALES["small"].people
    world = World.create(3, replace(demo, people=20_000), month_at(FIRST, 0))
    inside = {i for i, r in enumerate(geo.regions) if r == "North East"}
    assert 10 <= len(inside) <= 15
    assert set(np.unique(world.people.la).tolist()) <= inside
    assert set(np.unique(world.register.la).tolist()) <= inside
    with pytest.raises(ValueError, match="no current district lies in"):
        geo.within(("Atlantis",))
