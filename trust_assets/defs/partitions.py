"""Monthly partitions: one partition per calendar month of labour market data."""

from __future__ import annotations

import dagster as dg

from trust_assets.lib.months import month_range, parse_month, shift_month

MONTH_KEY_FORMAT = "%Y-%m"

#: Early enough for any synthetic start; months with no data are never requested by the sensor. Keys are spelt
#: ``YYYY-MM``, as on the command line (``trust run --months 2025-01``), in run tags and in the UI.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2020-01", end_offset=1, fmt=MONTH_KEY_FORMAT)


def months_in_window(window: dg.TimeWindow) -> list[str]:
    """``YYYY-MM`` for every month in a partition time window (a backfill range runs as one window)."""
    return month_range(window.start.date(), shift_month(window.end.date(), -1))


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
