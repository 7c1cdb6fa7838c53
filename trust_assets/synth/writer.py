"""Write the four departments' Delta tables month by month: the Python API behind ``trust synth``.

Each simulated month becomes one Delta commit per table (appends for DWP and HMRC, a merge for DfE outcomes and
BEIS births and deaths), so a table's version history reads like a department publishing month after month. With
mess on, HMRC also resubmits the previous month from the third month on: an extra commit that rewrites an earlier
month, which is what a pipeline pinning source versions has to cope with.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, write_deltalake

from trust_assets.lib.months import month_index
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import (
    BUSINESS_REGISTER,
    FE_LEARNER_AIMS,
    PAYE_EMPLOYMENTS,
    SOURCE_TABLES,
    UC_CLAIMS,
    SourceTable,
)
from trust_assets.lib.storage import delta_table, is_delta_table, is_remote, remove_tree, storage_options
from trust_assets.synth.calendar import Month, month_at, parse_month
from trust_assets.synth.model import World
from trust_assets.synth.scales import SCALES
from trust_assets.synth.tables import ACTION, Emitter

#: The first month UC existed everywhere is 2013-05; earlier starts would need claims before the benefit existed.
EARLIEST_START = dt.date(2014, 1, 1)
MAX_MONTHS = 600
MAX_SEED = 2**63 - 1


class SynthError(Exception):
    """A generation request that cannot be carried out; the message says why and what to do."""


class SynthOptionError(SynthError, ValueError):
    """An invalid option; ``option`` names it (e.g. ``months``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ProgressEvent:
    """One finished commit: shown by the CLI as one line."""

    month: str
    table: str
    action: str
    rows: int
    seconds: float
    #: the table's Delta version after the commit; None for simulation steps (no table written)
    version: int | None


@dataclass(frozen=True)
class TableSummary:
    key: str
    path: str
    version: int
    rows: int


@dataclass(frozen=True)
class SynthSummary:
    seed: int
    scale: str
    months: int
    start: str
    mess: bool
    seconds: float
    tables: tuple[TableSummary, ...]


def validate(*, seed: int, scale: str, months: int, start: str | dt.date) -> dt.date:
    """Check the options; returns the first day of the start month."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SynthOptionError("seed", f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    if scale not in SCALES:
        raise SynthOptionError("scale", f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise SynthOptionError("months", f"months must be a whole number from 1 to {MAX_MONTHS}, got {months!r}")
    try:
        first = start.replace(day=1) if isinstance(start, dt.date) else parse_month(start)
    except ValueError as error:
        raise SynthOptionError("start", str(error)) from None
    if first < EARLIEST_START:
        raise SynthOptionError("start", f"start {first:%Y-%m} is before {EARLIEST_START:%Y-%m}: "
                                        "Universal Credit claims need a history to start from")
    if month_index(first) + months - 1 > month_index("9999-12"):
        raise SynthOptionError("months", "the months run past the year 9999")
    return first


def existing_tables(paths: TrustPaths) -> list[str]:
    """The source tables already present under the departments' root (TRUST_DEPARTMENTS_URI, or TRUST_HOME)."""
    return [location for t in SOURCE_TABLES if is_delta_table(location := paths.source_table(t.dept, t.table))
            or (not is_remote(location) and Path(location).exists() and any(Path(location).iterdir()))]


def _metadata(month: Month, change: str, seed: int, scale: str) -> CommitProperties:
    return CommitProperties(custom_metadata={
        "trust.synth.month": month.label, "trust.synth.change": change,
        "trust.synth.seed": str(seed), "trust.synth.scale": scale,
    })


class _Counted:
    """Counts rows as a batch stream is consumed by the Delta writer."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self.rows = 0
        self._batches = batches

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch


class _Run:
    """One generation: the world, where tables go, and how progress is reported."""

    def __init__(self, paths: TrustPaths, world: World, mess: bool, scale: str,
                 progress: Callable[[ProgressEvent], None] | None) -> None:
        self.paths = paths
        self.world = world
        self.emit = Emitter(world, mess)
        self.mess = mess
        self.scale = scale
        self.progress = progress

    def path(self, table: SourceTable) -> str:
        return str(self.paths.source_table(table.dept, table.table))

    def options(self, table: SourceTable) -> dict[str, str] | None:
        """The department store's options (credentials, endpoint) for writing ``table``; None on local files."""
        return storage_options(self.path(table)) or None

    def _report(self, month: Month, table: SourceTable, action: str, rows: int, began: float) -> None:
        if self.progress is not None:
            version = delta_table(self.path(table)).version()
            self.progress(ProgressEvent(month.label, table.key, action, rows, time.perf_counter() - began, version))

    def simulated(self, month: Month, action: str, began: float) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(month.label, "population", action, self.world.scale.people,
                                        time.perf_counter() - began, None))

    def write(self, table: SourceTable, month: Month, batches: Iterable[pa.RecordBatch], *, change: str,
              first: bool = False, predicate: str | None = None) -> None:
        began = time.perf_counter()
        counted = _Counted(batches)
        reader = pa.RecordBatchReader.from_batches(table.schema, iter(counted))
        properties = _metadata(month, change, self.world.seed, self.scale)
        if first:
            if not is_remote(self.path(table)):
                Path(self.path(table)).parent.mkdir(parents=True, exist_ok=True)
            write_deltalake(self.path(table), reader, mode="error", name=table.key, description=table.description,
                            commit_properties=properties, storage_options=self.options(table))
        elif predicate:
            write_deltalake(self.path(table), reader, mode="overwrite", predicate=predicate,
                            commit_properties=properties, storage_options=self.options(table))
        else:
            write_deltalake(self.path(table), reader, mode="append", commit_properties=properties,
                            storage_options=self.options(table))
        self._report(month, table, change, counted.rows, began)

    def merge(self, table: SourceTable, month: Month, source: pa.Table, *, predicate: str, update: dict[str, str],
              insert_when: str, change: str) -> None:
        """One merge commit; a month with nothing to merge still gets its (empty) commit."""
        began = time.perf_counter()
        if source.num_rows == 0:
            self.write(table, month, [], change=change)
            return
        columns = {c.name: f"s.{c.name}" for c in table.columns}
        (delta_table(self.path(table))
         .merge(source, predicate, source_alias="s", target_alias="t",
                commit_properties=_metadata(month, change, self.world.seed, self.scale))
         .when_matched_update(update)
         .when_not_matched_insert(columns, predicate=insert_when)
         .execute())
        self._report(month, table, change, source.num_rows, began)

    def month(self, month: Month, previous: Month | None) -> None:
        emit = self.emit
        if self.mess and month.index >= 2 and previous is not None:
            # HMRC resubmits last month (the state is still as at its end) before this month's data arrives
            self.write(PAYE_EMPLOYMENTS, month, emit.paye_employments(previous, revised_in=month),
                       change=f"correction of {previous.label}", predicate=f"month = '{previous.iso}'")
        began = time.perf_counter()
        changes = self.world.step(month)
        self.simulated(month, "simulate month", began)
        first = month.index == 0
        if first:
            self.write(BUSINESS_REGISTER, month, [emit.business_register_initial(changes)], change="register",
                       first=True)
        else:
            self.merge(BUSINESS_REGISTER, month, emit.business_register_changes(changes),
                       predicate=(f"s.{ACTION} = 'death' AND t.death_date IS NULL AND t.birth_date = s.birth_date"
                                  " AND t.sic_division = s.sic_division"
                                  " AND t.workplace_la_code = s.workplace_la_code"
                                  " AND ((t.employer_id IS NULL AND s.employer_id IS NULL)"
                                  " OR t.employer_id = s.employer_id)"),
                       update={"death_date": "s.death_date"}, insert_when=f"s.{ACTION} = 'birth'",
                       change="births and deaths")
        self.write(UC_CLAIMS, month, emit.uc_claims(month), change="append", first=first)
        self.write(PAYE_EMPLOYMENTS, month, emit.paye_employments(month), change="append", first=first)
        if first:
            self.write(FE_LEARNER_AIMS, month, [emit.learner_aims_initial(changes)], change="open aims",
                       first=True)
        else:
            self.merge(FE_LEARNER_AIMS, month, emit.learner_aims_changes(changes),
                       predicate=f"s.{ACTION} = 'update' AND t.aim_id = s.aim_id",
                       update={"actual_end_date": "s.actual_end_date", "outcome": "s.outcome"},
                       insert_when=f"s.{ACTION} = 'insert'", change="outcomes and starts")


def generate(paths: TrustPaths, *, seed: int = 42, scale: str = "small", months: int = 12,
             start: str | dt.date = "2025-01", mess: bool = True, force: bool = False,
             progress: Callable[[ProgressEvent], None] | None = None) -> SynthSummary:
    """Generate the four departments' source tables under ``paths`` and summarise them.

    The same arguments always give the same table contents. Existing tables are replaced only with ``force``.
    """
    first_day = validate(seed=seed, scale=scale, months=months, start=start)
    existing = existing_tables(paths)
    if existing and not force:
        listed = ", ".join(p.removeprefix(paths.departments).strip("/") for p in existing)
        raise SynthError(f"source tables already exist under {paths.departments} ({listed}); "
                         "use --force (force=True) to replace them")
    for location in existing:
        remove_tree(location)

    began = time.perf_counter()
    first = month_at(first_day, 0)
    run = _Run(paths, World.create(seed, SCALES[scale], first), mess, scale, progress)
    run.simulated(first, "create people", began)
    previous = None
    for index in range(months):
        month = month_at(first_day, index)
        run.month(month, previous)
        previous = month

    tables = []
    for table in SOURCE_TABLES:
        delta = delta_table(run.path(table))
        tables.append(TableSummary(table.key, paths.source_table(table.dept, table.table), delta.version(),
                                   delta.count()))
    return SynthSummary(seed=seed, scale=scale, months=months, start=first.label, mess=mess,
                        seconds=time.perf_counter() - began, tables=tuple(tables))
