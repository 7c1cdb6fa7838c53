"""The whole synthetic world (businesses, people, learner aims) and how it advances by one month.

Random streams are keyed by (seed, stream, month, block) so every draw is reproducible on its own: the same seed
and options give the same world whatever the scale of parallelism or the order tables are written in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trust_assets.lib.registry.reference import Geography, load_geography
from trust_assets.synth import params as p
from trust_assets.synth.businesses import Register
from trust_assets.synth.calendar import Month
from trust_assets.synth.learning import Aims, backlog, learner_weights, new_learners, start_aims
from trust_assets.synth.population import People
from trust_assets.synth.scales import Scale

# random stream numbers (one per kind of draw)
REGISTER_INIT, REGISTER_MONTH = 11, 12
PEOPLE_INIT, PEOPLE_MONTH = 21, 22
LEARNER_BACKLOG, LEARNER_MONTH = 31, 32
HMRC_PAY, HMRC_CORRECTION = 41, 42
MESS = 51


def rng_for(seed: int, stream: int, month: int = 0, block: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, month, block])


@dataclass
class MonthChanges:
    """What happened in a month that the tables need beyond the end-of-month state."""

    month: Month
    dying: np.ndarray  # business indices dying this month
    born: np.ndarray  # business indices born this month
    ended_aims: Aims  # aims already written that end this month
    new_aims: Aims  # aims starting this month (state as at the month's end)


@dataclass
class World:
    seed: int
    scale: Scale
    geo: Geography
    register: Register
    people: People
    aims: Aims
    learner_rate: float
    next_aim: int = 0

    @classmethod
    def create(cls, seed: int, scale: Scale, first: Month) -> World:
        """The world at the start of the first month."""
        geo = load_geography()
        if scale.regions:
            geo = geo.within(scale.regions)
        register = Register.initial(rng_for(seed, REGISTER_INIT), geo, scale.employers, scale.non_employers,
                                    first)
        sampler = register.sampler(first, geo.n_current)
        people = People.empty(scale.people)
        for block, lo, hi in scale.chunks:
            people.initialise(rng_for(seed, PEOPLE_INIT, 0, block), slice(lo, hi), geo, register, sampler, first)
        heads = np.bincount(people.job_employer[people.job_employer >= 0], minlength=len(register))
        register.set_bands(heads)

        mean_weight = np.mean(np.concatenate([learner_weights(people, slice(lo, hi))
                                              for _, lo, hi in scale.chunks]))
        world = cls(seed=seed, scale=scale, geo=geo, register=register, people=people, aims=Aims.empty(),
                    learner_rate=p.LEARNER_START_RATE / float(mean_weight))
        for block, lo, hi in scale.chunks:
            world._number(backlog(rng_for(seed, LEARNER_BACKLOG, 0, block), people, slice(lo, hi),
                                  world.learner_rate, first))
        return world

    def _number(self, aims: Aims) -> Aims:
        aims.number = np.arange(self.next_aim, self.next_aim + len(aims), dtype=np.int64)
        self.next_aim += len(aims)
        self.aims.extend(aims)
        return aims

    def step(self, month: Month) -> MonthChanges:
        """Advance through ``month``; afterwards the state is as at the month's end."""
        seed = self.seed
        # aims that ended before this month were written already: forget them
        self.aims = self.aims.take(np.flatnonzero(self.aims.end >= month.start_day))
        ending = np.flatnonzero(self.aims.end <= month.end_day)
        ended_aims = self.aims.take(ending)
        self.people.apply_course_endings(ended_aims.person, ended_aims.outcome, month)

        dying, born = self.register.step(rng_for(seed, REGISTER_MONTH, month.index), self.geo, month)
        dying_mask = np.zeros(len(self.register), dtype=bool)
        dying_mask[dying] = True
        sampler = self.register.sampler(month, self.geo.n_current)
        new: list[Aims] = []
        for block, lo, hi in self.scale.chunks:
            sl = slice(lo, hi)
            self.people.step(rng_for(seed, PEOPLE_MONTH, month.index, block), sl, month, self.register,
                             sampler, dying_mask)
            rng = rng_for(seed, LEARNER_MONTH, month.index, block)
            learners = new_learners(rng, self.people, sl, self.learner_rate)
            new.append(start_aims(rng, learners, month.random_days(rng, len(learners))))
        new_aims = Aims.empty()
        for aims in new:
            new_aims.extend(aims)
        self._number(new_aims)
        quick = np.flatnonzero(new_aims.end <= month.end_day)
        self.people.apply_course_endings(new_aims.person[quick], new_aims.outcome[quick], month)
        return MonthChanges(month=month, dying=dying, born=born, ended_aims=ended_aims, new_aims=new_aims)
