"""Monthly partitions: one partition per calendar month the department tables hold.

The partitions are Dagster *dynamic* partitions, kept in the instance: a month becomes a partition when it is
observed in every monthly-stock source (``lib/sources/available.py``), by whoever sees it first: the
``new_source_versions`` sensor (as ``dynamic_partitions_requests`` of the tick that requests its run, which the
daemon applies first), ``trust run``, ``trust ui`` at start and the schedule. So the UI (asset pages, the backfill
dialog's partition selector) offers exactly the months that have data, a new month appears without reloading the
code location, and building the definitions reads nothing under ``TRUST_HOME`` (one code location serves any
root). A time window bounded by the data could do neither: its bounds would be read from the data when the
definitions load, and a month delivered later would need a reload before the sensor could request it.

Keys are spelt ``YYYY-MM``, as on the command line (``trust run --months 2025-01``), in run tags and in the UI, and
kept in calendar order (a month registered late is put in its place), so a range ``2025-01...2025-06`` in the UI is
the same six months as ``trust run --months 2025-01..2025-06``. Month arithmetic stays in ``lib/months.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from trust_assets.lib.months import month_range, parse_month

MONTHS_PARTITIONS = "months"

monthly_partitions = dg.DynamicPartitionsDefinition(name=MONTHS_PARTITIONS)


def partition_months(context: dg.AssetExecutionContext) -> list[str]:
    """``YYYY-MM`` for every month a run builds: its partition, or the range of a single-run backfill.

    Worked out from the range's first and last month in calendar order, so it never depends on the order the
    instance stores the keys in. A run for a month that is no partition (launched through the API by hand: the UI
    offers none) or for a key that is not a month (typed into the UI's "add partition") fails here, before any
    source is pinned, saying which months there are.
    """
    keys = context.partition_key_range
    unknown = [k for k in {keys.start, keys.end} if not context.instance.has_dynamic_partition(MONTHS_PARTITIONS, k)]
    if unknown:
        held = registered_months(context.instance)
        span = f"{held[0]}..{held[-1]}" if held else "none yet"
        raise dg.Failure(f"{', '.join(sorted(unknown))} is not a month the department tables hold (the monthly "
                         f"partitions are {span}; a month becomes one when its data arrives)")
    try:
        return month_range(parse_month(keys.start), parse_month(keys.end))
    except ValueError as exc:
        raise dg.Failure(f"partition {keys.start}..{keys.end}: {exc}") from None


def registered_months(instance: dg.DagsterInstance) -> list[str]:
    """The months the instance knows as partitions, in its order (calendar order, see ``register_months``)."""
    return list(instance.get_dynamic_partitions(MONTHS_PARTITIONS))


def partition_requests(known: Sequence[str], months: Iterable[str]
                       ) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
    """What makes every month a partition while keeping calendar order (empty when all are known).

    Dagster orders dynamic partitions by when they were added, and a UI range or a run's partition range covers
    the keys between its ends in that order. A month older than the newest partition (a department delivering
    history late) is therefore not appended: the partitions after it are deleted and re-added behind it, in one
    list of requests applied in order (by ``register_months``: Dagster refuses a sensor tick whose requests delete
    and add the same keys). A key only names a month: materializations, checks and run history are stored by key
    and survive the re-adding.
    """
    new = sorted({parse_month(m) for m in months} - set(known))
    if not new:
        return []
    later = [k for k in known if k > new[0]]
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if later:
        requests.append(monthly_partitions.build_delete_request(later))
    requests.append(monthly_partitions.build_add_request(sorted({*new, *later})))
    return requests


def new_months(requests: Sequence[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest],
               known: Sequence[str]) -> list[str]:
    """The months a list of ``partition_requests`` adds that were not partitions before."""
    return sorted({k for r in requests if isinstance(r, dg.AddDynamicPartitionsRequest)
                   for k in r.partition_keys} - set(known))


def register_months(instance: dg.DagsterInstance, months: Iterable[str]) -> list[str]:
    """Apply ``partition_requests`` to the instance; returns the new months.

    Putting an earlier month in place deletes and re-adds the later keys in one transaction of the instance's
    storage: a run of a later month (its steps check their partition, Dagster reads a range's keys) or the UI reading
    meanwhile sees the partitions before or after, never without its month. Dagster's public calls delete one key
    per transaction, which left every later month missing for a few milliseconds per key.
    """
    from dagster._core.storage.event_log.schema import DynamicPartitionsTable
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    known = registered_months(instance)
    requests = partition_requests(known, months)
    later = [k for r in requests if isinstance(r, dg.DeleteDynamicPartitionsRequest) for k in r.partition_keys]
    added = [k for r in requests if isinstance(r, dg.AddDynamicPartitionsRequest) for k in r.partition_keys]
    storage = instance.event_log_storage
    if later and isinstance(storage, SqlEventLogStorage):  # SQLite and Postgres instances both are
        table = DynamicPartitionsTable.c
        with storage.index_transaction() as conn:
            conn.execute(DynamicPartitionsTable.delete().where(
                (table.partitions_def_name == MONTHS_PARTITIONS) & table.partition.in_(later)))
            conn.execute(DynamicPartitionsTable.insert(),
                         [{"partitions_def_name": MONTHS_PARTITIONS, "partition": k} for k in added])
    else:
        for key in later:
            instance.delete_dynamic_partition(MONTHS_PARTITIONS, key)
        if added:
            instance.add_dynamic_partitions(MONTHS_PARTITIONS, added)
    return new_months(requests, known)


def release_id(context: dg.AssetExecutionContext) -> str:
    """The id a release's candidates, checks and publication are keyed by: the root run's id.

    A re-execution "from failure" gets a new run id but continues the same release: it must find the candidates
    its root run audited, and its publish must not commit a product the root run already committed.
    """
    return context.run.root_run_id or context.run.run_id


def partition_range_tags(months: list[str]) -> dict[str, str]:
    """Tags that make one run cover a contiguous range of monthly partitions (single-run backfill): how
    ``trust run`` and the sensor build a block of months in one run."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    return {ASSET_PARTITION_RANGE_START_TAG: parse_month(months[0]),
            ASSET_PARTITION_RANGE_END_TAG: parse_month(months[-1])}
