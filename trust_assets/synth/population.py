"""The synthetic population as numpy arrays, and how it moves between work, benefits and learning each month.

One person is one index into these arrays, shared by DWP, HMRC and DfE (that is what makes linkage possible).
Every month is simulated in fixed blocks of people, each with its own random stream seeded from
(seed, month, block), so results never depend on how the work is scheduled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from trust_assets.lib.registry.reference import Geography
from trust_assets.synth import params as p
from trust_assets.synth.businesses import EmployerSampler, Register, draw_districts, draw_legacy
from trust_assets.synth.calendar import Month, day_number

NO_JOB = -1
#: Bits of ``People.legacy_used``: which departments still code the person to an abolished district.
DWP, HMRC, DFE = 1, 2, 4

_MEDIAN_PAY = np.array([s.median_pay for s in p.SECTORS], dtype=np.float64)
_UC_LAUNCH = day_number(dt.date.fromisoformat(p.UC_LAUNCH))


def _pick(rng: np.random.Generator, mix: dict[int, float], n: int) -> np.ndarray:
    keys = np.array(list(mix), dtype=np.int8)
    cum = np.cumsum(np.array(list(mix.values())))
    return keys[np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(keys) - 1)]


def non_working_regimes(rng: np.random.Generator, disabled: np.ndarray) -> np.ndarray:
    return np.where(disabled, _pick(rng, p.REGIME_MIX_DISABLED, len(disabled)),
                    _pick(rng, p.REGIME_MIX_NOT_DISABLED, len(disabled))).astype(np.int8)


def working_regimes(pay: np.ndarray) -> np.ndarray:
    return np.where(pay < p.WORKING_WITH_REQUIREMENTS_PAY, p.WORKING_WITH, p.WORKING_NO).astype(np.int8)


@dataclass
class People:
    la: np.ndarray  # int16 current district of residence
    legacy: np.ndarray  # int16 abolished predecessor code, -1 none
    legacy_used: np.ndarray  # uint8 bits DWP | HMRC | DFE
    age: np.ndarray  # int8 index into params.AGE_BANDS
    female: np.ndarray  # bool
    disabled: np.ndarray  # bool
    job_employer: np.ndarray  # int32 (2, n): main and second job's business index, NO_JOB
    job_start: np.ndarray  # int32 (2, n) day
    job_pay: np.ndarray  # float32 (2, n) usual monthly pay
    regime: np.ndarray  # int8 params.REGIMES index, NOT_CLAIMING
    claim_start: np.ndarray  # int32 day
    course: np.ndarray  # int8 +1 after a completed aim, -1 after a withdrawal, 0 none
    course_until: np.ndarray  # int16 month index the course effect lasts to

    def __len__(self) -> int:
        return len(self.la)

    @classmethod
    def empty(cls, n: int) -> People:
        return cls(la=np.zeros(n, np.int16), legacy=np.full(n, -1, np.int16), legacy_used=np.zeros(n, np.uint8),
                   age=np.zeros(n, np.int8), female=np.zeros(n, bool), disabled=np.zeros(n, bool),
                   job_employer=np.full((2, n), NO_JOB, np.int32), job_start=np.zeros((2, n), np.int32),
                   job_pay=np.zeros((2, n), np.float32), regime=np.full(n, p.NOT_CLAIMING, np.int8),
                   claim_start=np.zeros(n, np.int32), course=np.zeros(n, np.int8),
                   course_until=np.zeros(n, np.int16))

    def coded_la(self, index: np.ndarray | slice, dept_bit: int, mess: bool) -> np.ndarray:
        """The district a department records: for some people in reorganised areas, the abolished one."""
        la = self.la[index]
        if not mess:
            return la
        legacy = self.legacy[index]
        used = (self.legacy_used[index] & dept_bit) > 0
        return np.where(used & (legacy >= 0), legacy, la).astype(np.int16)

    # --- the start month ---------------------------------------------------------------------------------------

    def initialise(self, rng: np.random.Generator, sl: slice, geo: Geography, register: Register,
                   sampler: EmployerSampler, start: Month) -> None:
        """Draw one block of people as they are at the start month."""
        n = sl.stop - sl.start
        la = draw_districts(rng, geo, n)
        self.la[sl] = la
        self.legacy[sl] = draw_legacy(rng, geo, la)
        bits = rng.random((3, n)) < p.LEGACY_CODE_SHARE
        self.legacy_used[sl] = (bits[0] * DWP + bits[1] * HMRC + bits[2] * DFE).astype(np.uint8)
        age = np.minimum(np.searchsorted(np.cumsum(p.AGE_SHARE), rng.random(n), side="right"), 4).astype(np.int8)
        self.age[sl] = age
        self.female[sl] = rng.random(n) < p.FEMALE_SHARE
        disabled = rng.random(n) < p.DISABILITY_RATE[age]
        self.disabled[sl] = disabled

        factor = np.where(disabled, p.EMPLOYMENT_FACTOR_DISABLED, p.EMPLOYMENT_FACTOR_NOT_DISABLED)
        employed = rng.random(n) < p.EMPLOYMENT_RATE[age] * factor
        second = employed & (rng.random(n) < p.SECOND_JOB_SHARE)
        for job, holds in ((0, employed), (1, second)):
            who = np.flatnonzero(holds)
            employer = sampler.draw(rng, la[who])
            tenure = rng.exponential(p.TENURE_MEAN_MONTHS[age[who]] * 30.44)
            started = np.maximum(start.start_day - np.ceil(tenure), register.birth[employer])
            self._hire(rng, sl.start + who, job, employer, started.astype(np.int32), register)

        claim_rate = np.where(employed, p.CLAIM_RATE_EMPLOYED[age], p.CLAIM_RATE_NOT_EMPLOYED[age])
        claiming = rng.random(n) < claim_rate * np.where(disabled, p.CLAIM_FACTOR_DISABLED, 1.0)
        regime = np.where(employed, working_regimes(self.job_pay[0, sl]), non_working_regimes(rng, disabled))
        self.regime[sl] = np.where(claiming, regime, p.NOT_CLAIMING)
        duration = np.ceil(rng.exponential(p.CLAIM_DURATION_MEAN_MONTHS * 30.44, n))
        self.claim_start[sl] = np.maximum(start.start_day - duration, _UC_LAUNCH).astype(np.int32)

    def _hire(self, rng: np.random.Generator, who: np.ndarray, job: int, employer: np.ndarray,
              started: np.ndarray, register: Register, factor: float = 1.0) -> None:
        """Give ``who`` a job at ``employer``: pay is log-normal around the sector median, shifted by who they are."""
        pay = (_MEDIAN_PAY[register.section[employer]] * p.PAY_AGE_FACTOR[self.age[who]]
               * np.where(self.female[who], p.PAY_FACTOR_FEMALE, 1.0)
               * np.where(self.disabled[who], p.PAY_FACTOR_DISABLED, 1.0)
               * np.exp(p.PAY_SIGMA * rng.standard_normal(len(who))) * factor)
        if job == 1:
            pay *= p.SECOND_JOB_PAY_FACTOR
        self.job_employer[job, who] = employer
        self.job_start[job, who] = started
        self.job_pay[job, who] = pay

    # --- one month ---------------------------------------------------------------------------------------------

    def step(self, rng: np.random.Generator, sl: slice, month: Month, register: Register,
             sampler: EmployerSampler, dying: np.ndarray) -> None:
        """Move one block of people through ``month``: jobs lost and found, claims made and closed.

        ``dying`` flags businesses that die this month: their staff lose those jobs at the month's start.
        """
        n = sl.stop - sl.start
        base = sl.start
        emp = self.job_employer[:, sl]
        age, disabled = self.age[sl], self.disabled[sl]
        regime = self.regime[sl]
        was_employed = emp[0] >= 0
        was_claiming = regime >= 0
        if np.any(self.course[sl]):
            expired = self.course_until[sl] < month.index
            self.course[sl][expired] = 0

        # second jobs end more often than main ones
        held2 = emp[1] >= 0
        end2 = held2 & (dying[np.maximum(emp[1], 0)] | (rng.random(n) < p.SECOND_JOB_EXIT))
        emp[1, end2] = NO_JOB

        # main jobs: employer deaths, losses and job-to-job moves
        u = rng.random(n)
        forced = was_employed & dying[np.maximum(emp[0], 0)]
        exit_hazard = p.JOB_EXIT[age] * np.where(disabled, p.JOB_EXIT_FACTOR_DISABLED, 1.0)
        lose = was_employed & ~forced & (u < exit_hazard)
        move = was_employed & ~forced & ~lose & (u < exit_hazard + p.JOB_MOVE)
        rehired = forced & (rng.random(n) < p.REHIRE_ON_EMPLOYER_DEATH)
        lost = lose | (forced & ~rehired)
        emp[0, lost] = NO_JOB
        promote = np.flatnonzero(lost & (emp[1] >= 0))
        for arr in (self.job_employer, self.job_start, self.job_pay):
            arr[0, base + promote] = arr[1, base + promote]
        emp[1, promote] = NO_JOB

        # entries into work from claiming or from inactivity
        course_factor = np.ones(n)
        for effect, factor in p.COURSE_ENTRY_FACTOR.items():
            course_factor[self.course[sl] == effect] = factor
        entry = np.where(was_claiming, p.CLAIMANT_ENTRY[age] * p.REGIME_ENTRY_FACTOR[np.maximum(regime, 0)],
                         p.OTHER_ENTRY[age])
        entry = entry * np.where(disabled, p.ENTRY_FACTOR_DISABLED, 1.0) * course_factor
        enter = ~was_employed & (rng.random(n) < entry)
        gain2 = (emp[0] >= 0) & ~lost & (emp[1] < 0) & (rng.random(n) < p.SECOND_JOB_ENTRY)

        for job, who_mask, factor in ((0, move | rehired, p.JOB_MOVE_PAY_FACTOR), (0, enter, 1.0),
                                      (1, gain2, 1.0)):
            who = np.flatnonzero(who_mask)
            employer = sampler.draw(rng, self.la[base + who])
            self._hire(rng, base + who, job, employer, month.random_days(rng, len(who)), register, factor)

        self._claims(rng, sl, month, was_employed, was_claiming, enter, lost & (emp[0] < 0))

    def _claims(self, rng: np.random.Generator, sl: slice, month: Month, was_employed: np.ndarray,
                was_claiming: np.ndarray, enter: np.ndarray, lost_all: np.ndarray) -> None:
        n = sl.stop - sl.start
        regime = self.regime[sl]
        claim_start = self.claim_start[sl]
        disabled, age = self.disabled[sl], self.age[sl]
        employed = self.job_employer[0, sl] >= 0
        pay = self.job_pay[0, sl]
        u = rng.random(n)
        old_age = np.where(age == 4, p.CLAIM_FACTOR_65_PLUS, 1.0)

        working_regime = working_regimes(pay)
        stay = rng.random(n) < p.STAY_ON_CLAIM_ON_ENTRY
        new_regime = regime.copy()
        # claimants who found work stay on UC with in-work conditionality, or leave it
        entered = was_claiming & enter
        new_regime[entered] = np.where(stay[entered], working_regime[entered], p.NOT_CLAIMING)
        # working claimants who lost their work look for more
        new_regime[was_claiming & lost_all] = p.SEARCHING
        # claimants whose situation did not change: leave UC, or drift between regimes
        steady_out = was_claiming & ~enter & ~lost_all & ~employed
        steady_in = was_claiming & ~enter & ~lost_all & employed
        new_regime[steady_out & (u < p.CLAIM_EXIT_NOT_WORKING)] = p.NOT_CLAIMING
        new_regime[steady_in & (u < p.CLAIM_EXIT_WORKING)] = p.NOT_CLAIMING
        drift = rng.random(n)
        new_regime[steady_out & (regime == p.SEARCHING) & (u >= p.CLAIM_EXIT_NOT_WORKING)
                   & (drift < p.SEARCHING_TO_NO_WORK_REQ)] = p.NO_WORK_REQ
        new_regime[steady_out & np.isin(regime, (p.PLANNING, p.PREPARING)) & (u >= p.CLAIM_EXIT_NOT_WORKING)
                   & (drift < p.PREPARING_TO_SEARCHING)] = p.SEARCHING
        new_regime[steady_in & (u >= p.CLAIM_EXIT_WORKING)] = working_regime[steady_in & (u >= p.CLAIM_EXIT_WORKING)]

        # new claims: after losing work, out of work for other reasons, or topping up low pay
        fresh = ~was_claiming
        on_loss = fresh & lost_all & (u < p.CLAIM_ON_JOB_LOSS * old_age)
        out_of_work = fresh & ~lost_all & ~employed & ~was_employed & (
            u < p.NEW_CLAIM_NOT_WORKING * np.where(disabled, 2.0, 1.0) * old_age)
        low_pay = np.where(pay < p.LOW_PAY, p.NEW_CLAIM_WORKING_LOW_PAY_FACTOR, 1.0)
        in_work = fresh & employed & ~enter & (u < p.NEW_CLAIM_WORKING * low_pay * old_age)
        new_regime[on_loss] = np.where(drift[on_loss] < 0.8, p.SEARCHING, p.NO_WORK_REQ)
        new_regime[out_of_work] = non_working_regimes(rng, disabled)[out_of_work]
        new_regime[in_work] = working_regime[in_work]
        started = on_loss | out_of_work | in_work
        claim_start[started] = month.random_days(rng, n)[started]
        regime[:] = new_regime

    def apply_course_endings(self, person: np.ndarray, outcome: np.ndarray, month: Month) -> None:
        """Learners whose aim ended this month get the completion (or withdrawal) effect on finding work."""
        self.course[person] = np.where(outcome == p.WITHDRAWN, -1, 1)
        self.course_until[person] = month.index + p.COURSE_EFFECT_MONTHS
