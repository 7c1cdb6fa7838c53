"""Further education learner aims (DfE): who starts, what they study, and how each aim ends.

An aim's whole course is drawn when it starts (planned end, and whether it will be withdrawn, completed or
achieved, and when), so each month only has to look up which aims end in it. Aims stay in memory until they have
ended and been written.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from trust_assets.synth import params as p
from trust_assets.synth.calendar import Month
from trust_assets.synth.population import People

_DAYS_PER_MONTH = 30.44
_SSA_CUM = np.cumsum(p.SSA_WEIGHT / p.SSA_WEIGHT.sum())
_LEVEL_CUM = np.cumsum(p.LEVEL_SHARE)


@dataclass
class Aims:
    person: np.ndarray  # int32 person index
    number: np.ndarray  # int64 aim number (the id is scrambled from it)
    start: np.ndarray  # int32 day
    planned_end: np.ndarray  # int32 day
    end: np.ndarray  # int32 day the aim will actually end
    outcome: np.ndarray  # int8 final outcome (completed, achieved, withdrawn)
    ssa: np.ndarray  # int8 1..15
    level: np.ndarray  # int8 index into params.LEVELS
    nsf: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.person)

    @classmethod
    def empty(cls) -> Aims:
        return cls(person=np.zeros(0, np.int32), number=np.zeros(0, np.int64), start=np.zeros(0, np.int32),
                   planned_end=np.zeros(0, np.int32), end=np.zeros(0, np.int32), outcome=np.zeros(0, np.int8),
                   ssa=np.zeros(0, np.int8), level=np.zeros(0, np.int8), nsf=np.zeros(0, bool))

    def take(self, index: np.ndarray) -> Aims:
        return Aims(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def extend(self, other: Aims) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def outcome_at(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """(outcome, ended) as they stand at ``day``: continuing until the end date has passed."""
        ended = self.end <= day
        return np.where(ended, self.outcome, p.CONTINUING).astype(np.int8), ended


def learner_weights(people: People, sl: slice) -> np.ndarray:
    """Young people, claimants and people out of work are likelier to start an aim."""
    weight = p.LEARNER_AGE_WEIGHT[people.age[sl]]
    weight = weight * np.where(people.regime[sl] >= 0, p.LEARNER_WEIGHT_CLAIMANT, 1.0)
    return weight * np.where(people.job_employer[0, sl] < 0, p.LEARNER_WEIGHT_NOT_EMPLOYED, 1.0)


def start_aims(rng: np.random.Generator, learners: np.ndarray, start_day: np.ndarray) -> Aims:
    """New aims for ``learners`` (person indices) starting on ``start_day``; some learners take two aims."""
    twice = rng.random(len(learners)) < p.SECOND_AIM_SHARE
    person = np.concatenate([learners, learners[twice]]).astype(np.int32)
    start = np.concatenate([start_day, start_day[twice]]).astype(np.int32)
    order = np.lexsort((start, person))
    person, start = person[order], start[order]
    n = len(person)

    level = np.minimum(np.searchsorted(_LEVEL_CUM, rng.random(n), side="right"), 4).astype(np.int8)
    lo, hi = p.LEVEL_MONTHS[level, 0], p.LEVEL_MONTHS[level, 1]
    short = rng.random(n) < p.SHORT_COURSE_SHARE
    lo = np.where(short, p.SHORT_COURSE_MONTHS[0], lo)
    hi = np.where(short, p.SHORT_COURSE_MONTHS[1], hi)
    months = lo + np.floor(rng.random(n) * (hi - lo + 1))
    planned_end = start + np.round(months * _DAYS_PER_MONTH).astype(np.int32)

    withdrawn = rng.random(n) < p.WITHDRAWAL_SHARE
    achieved = rng.random(n) < p.ACHIEVED_SHARE
    outcome = np.where(withdrawn, p.WITHDRAWN, np.where(achieved, p.ACHIEVED, p.COMPLETED)).astype(np.int8)
    length = planned_end - start
    u = rng.random(n)
    end = np.where(withdrawn, start + np.floor(u * length), planned_end - np.floor(u * u * np.minimum(14, length)))
    ssa = (np.minimum(np.searchsorted(_SSA_CUM, rng.random(n), side="right"), 14) + 1).astype(np.int8)
    nsf_share = np.where(level == 3, p.NSF_SHARE_LEVEL_3, p.NSF_SHARE_OTHER)
    return Aims(person=person, number=np.zeros(n, np.int64), start=start, planned_end=planned_end.astype(np.int32),
                end=end.astype(np.int32), outcome=outcome, ssa=ssa, level=level, nsf=rng.random(n) < nsf_share)


def new_learners(rng: np.random.Generator, people: People, sl: slice, rate: float) -> np.ndarray:
    """Indices of people in block ``sl`` who start learning, each with probability ``rate`` times their weight."""
    chance = rate * learner_weights(people, sl)
    return (sl.start + np.flatnonzero(rng.random(sl.stop - sl.start) < chance)).astype(np.int32)


def backlog(rng: np.random.Generator, people: People, sl: slice, rate: float, first: Month) -> Aims:
    """Aims that started in the months before the first month and had not ended by its start."""
    window = p.BACKLOG_MONTHS
    learners = new_learners(rng, people, sl, rate * window)
    days_before = np.ceil(rng.random(len(learners)) * window * _DAYS_PER_MONTH).astype(np.int32)
    aims = start_aims(rng, learners, first.start_day - days_before)
    return aims.take(np.flatnonzero(aims.end >= first.start_day))
