"""Turn the world's state into the departments' record batches, with exactly the schemas of lib/registry/sources.py.

Rows are produced one block of people at a time (a generator of Arrow record batches), so a national month
streams into Delta without ever holding 30 M rows in memory. Mess (nulls, duplicates) is injected per block from
its own random stream, so a rewrite of a month reproduces the same mess.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trust_assets.lib.registry.sources import BUSINESS_REGISTER, FE_LEARNER_AIMS, PAYE_EMPLOYMENTS, UC_CLAIMS
from trust_assets.synth import params as p
from trust_assets.synth.businesses import ALIVE
from trust_assets.synth.calendar import Month
from trust_assets.synth.ids import aim_ids, employer_ids, person_ids
from trust_assets.synth.learning import Aims
from trust_assets.synth.model import HMRC_CORRECTION, HMRC_PAY, MESS, MonthChanges, World, rng_for
from trust_assets.synth.population import DFE, DWP, HMRC

#: Extra column of merge sources saying whether a row is inserted or updates an existing one.
ACTION = "_action"
_MESS_SALT = {"dwp": 1, "hmrc": 2, "dfe": 3}


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=missing).cast(pa.date32())


def _labels(values: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int32)))


def with_action(batch: pa.RecordBatch, action: str) -> pa.RecordBatch:
    return batch.append_column(ACTION, pa.array([action] * batch.num_rows, type=pa.string()))


class Emitter:
    """Builds each department's rows from the world; ``mess`` switches every injected imperfection."""

    def __init__(self, world: World, mess: bool) -> None:
        self.world = world
        self.mess = mess
        self.codes = list(world.geo.codes)
        self.person_ids = person_ids(world.seed)
        self.employer_ids = employer_ids(world.seed)
        self.aim_ids = aim_ids(world.seed)
        self.sections = [s.section for s in p.SECTORS]

    # --- mess ----------------------------------------------------------------------------------------------------

    def _messy(self, batch: pa.RecordBatch, dept: str, month: Month, block: int) -> pa.RecordBatch:
        """Blank a few person ids and repeat a few rows exactly, as real extracts do."""
        if not self.mess or batch.num_rows == 0:
            return batch
        rng = rng_for(self.world.seed, MESS + _MESS_SALT[dept], month.index, block)
        n = batch.num_rows
        blank = rng.random(n) < p.NULL_PERSON_ID_SHARE
        repeat = np.flatnonzero(rng.random(n) < p.DUPLICATE_ROW_SHARE)
        column = batch.schema.get_field_index("person_id")
        ids = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), batch.column(column))
        batch = batch.set_column(column, batch.schema.field(column), ids)
        order = np.sort(np.concatenate([np.arange(n), repeat]), kind="stable")
        return batch.take(pa.array(order))

    # --- DWP -----------------------------------------------------------------------------------------------------

    def uc_claims(self, month: Month) -> Iterator[pa.RecordBatch]:
        people = self.world.people
        for block, lo, hi in self.world.scale.chunks:
            who = lo + np.flatnonzero(people.regime[lo:hi] >= 0)
            n = len(who)
            batch = pa.RecordBatch.from_arrays([
                self.person_ids.ids(who),
                _dates(np.full(n, month.start_day)),
                _labels(self.codes, people.coded_la(who, DWP, self.mess)),
                _labels(p.AGE_BANDS, people.age[who]),
                _labels(("M", "F"), people.female[who].astype(np.int8)),
                pa.array(people.disabled[who]),
                _labels(p.REGIMES, people.regime[who]),
                _dates(people.claim_start[who]),
            ], schema=UC_CLAIMS.schema)
            yield self._messy(batch, "dwp", month, block)

    # --- HMRC ----------------------------------------------------------------------------------------------------

    def paye_employments(self, month: Month, revised_in: Month | None = None) -> Iterator[pa.RecordBatch]:
        """A month of employments from the current state; with ``revised_in``, the late resubmission of it.

        Pay noise is seeded by the month the pay relates to, so the resubmission repeats every row exactly except
        the revised pay values (and repeats the same injected mess).
        """
        people = self.world.people
        for block, lo, hi in self.world.scale.chunks:
            rng = rng_for(self.world.seed, HMRC_PAY, month.index, block)
            jobs = [lo + np.flatnonzero(people.job_employer[job, lo:hi] >= 0) for job in (0, 1)]
            who = np.concatenate(jobs)
            job = np.repeat(np.array([0, 1], dtype=np.int8), [len(j) for j in jobs])
            employer = people.job_employer[job, who]
            pay = people.job_pay[job, who] * np.exp(p.PAY_MONTHLY_NOISE * rng.standard_normal(len(who)))
            if revised_in is not None:
                fix = rng_for(self.world.seed, HMRC_CORRECTION, revised_in.index, block)
                revised = fix.random(len(who)) < p.CORRECTION_SHARE
                pay = np.where(revised, pay * fix.lognormal(0.0, p.CORRECTION_SIGMA, len(who)), pay)
            batch = pa.RecordBatch.from_arrays([
                self.person_ids.ids(who),
                self.employer_ids.ids(employer),
                _dates(np.full(len(who), month.start_day)),
                pa.array(np.round(pay.astype(np.float64), 2)),
                _labels(self.codes, people.coded_la(who, HMRC, self.mess)),
                _dates(people.job_start[job, who]),
            ], schema=PAYE_EMPLOYMENTS.schema)
            yield self._messy(batch, "hmrc", month, block)

    # --- DfE -----------------------------------------------------------------------------------------------------

    def _aims(self, aims: Aims, month: Month) -> pa.RecordBatch:
        outcome, ended = aims.outcome_at(month.end_day)
        return pa.RecordBatch.from_arrays([
            self.person_ids.ids(aims.person),
            self.aim_ids.ids(aims.number),
            _dates(aims.start),
            _dates(aims.planned_end),
            _dates(aims.end, missing=~ended),
            _labels(p.OUTCOMES, outcome),
            pa.array(aims.ssa.astype(np.int32)),
            _labels(p.LEVELS, aims.level),
            _labels(self.codes, self.world.people.coded_la(aims.person, DFE, self.mess)),
            pa.array(aims.nsf),
        ], schema=FE_LEARNER_AIMS.schema)

    def learner_aims_initial(self, changes: MonthChanges) -> pa.RecordBatch:
        """Version 0: aims open at the first month's start or started in it, as they stand at its end."""
        aims = self.world.aims
        return self._messy(self._aims(aims, changes.month), "dfe", changes.month, 0)

    def learner_aims_changes(self, changes: MonthChanges) -> pa.Table:
        """A later month: outcomes of aims ending in it (updates) and its new starts (inserts)."""
        updates = with_action(self._aims(changes.ended_aims, changes.month), "update")
        inserts = self._messy(self._aims(changes.new_aims, changes.month), "dfe", changes.month, 0)
        return pa.Table.from_batches([updates, with_action(inserts, "insert")])

    # --- BEIS ----------------------------------------------------------------------------------------------------

    def _businesses(self, index: np.ndarray) -> pa.RecordBatch:
        reg = self.world.register
        index = np.asarray(index, dtype=np.int64)
        employer = reg.employer[index]
        ids = pc.if_else(pa.array(employer), self.employer_ids.ids(index), pa.scalar(None, pa.string()))
        death = reg.death[index]
        return pa.RecordBatch.from_arrays([
            ids,
            _labels(self.sections, reg.section[index]),
            pc.utf8_lpad(pc.cast(pa.array(reg.division[index].astype(np.int32)), pa.string()), 2, "0"),
            _labels(self.codes, reg.coded_la(index, self.mess)),
            _labels(p.SIZE_BANDS, reg.band[index]),
            _dates(reg.birth[index]),
            _dates(death, missing=death == ALIVE),
        ], schema=BUSINESS_REGISTER.schema)

    def business_register_initial(self, changes: MonthChanges) -> pa.RecordBatch:
        """Version 0: every business trading during the first month, with that month's births and deaths."""
        return self._businesses(np.arange(len(self.world.register)))

    def business_register_changes(self, changes: MonthChanges) -> pa.Table:
        """A later month: births (inserts) and deaths (updates of death_date)."""
        births = with_action(self._businesses(changes.born), "birth")
        deaths = with_action(self._businesses(changes.dying), "death")
        return pa.Table.from_batches([births, deaths])
