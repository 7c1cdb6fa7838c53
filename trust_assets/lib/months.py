"""The one owner of months: parsing, formatting and arithmetic on calendar months.

The trust's data is monthly. People, the CLI, commit metadata and lineage write a month as ``YYYY-MM``; SQL, Delta
predicates and Dagster partition keys take its first day (``YYYY-MM-01``). Every other module converts and counts
months through these functions, so there is one place where "the month after December" is worked out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_month(value: str | dt.date) -> str:
    """``YYYY-MM``, ``YYYY-MM-DD`` or a date -> ``YYYY-MM``; anything else raises ValueError naming the problem."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    match = _MONTH.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a month: {value!r} (expected YYYY-MM, e.g. 2025-01)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"not a month: {value!r} (month {month:02d} is not 01-12)")
    return f"{year:04d}-{month:02d}"


def month_start(value: str | dt.date) -> str:
    """The first day of the month, ``YYYY-MM-01`` (the form SQL, Delta predicates and partition keys use)."""
    return f"{parse_month(value)}-01"


def first_day(value: str | dt.date) -> dt.date:
    """The first day of the month as a date."""
    month = parse_month(value)
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def month_index(value: str | dt.date) -> int:
    """Months since year 0: differences of two indexes count the months between them."""
    month = parse_month(value)
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift_month(value: str | dt.date, delta: int) -> str:
    """The month ``delta`` months after (negative: before) ``value``."""
    return from_index(month_index(value) + delta)


def month_bounds(value: str | dt.date, offset: int = 0) -> tuple[str, str]:
    """(first day of the month ``offset`` months on, first day of the month after it), as ISO dates."""
    month = shift_month(value, offset)
    return month_start(month), month_start(shift_month(month, 1))


def month_range(first: str | dt.date, last: str | dt.date) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (empty when ``last`` is before ``first``)."""
    lo, hi = month_index(first), month_index(last)
    return [from_index(i) for i in range(lo, hi + 1)]


def iter_months(first: str | dt.date, count: int) -> Iterator[str]:
    """``count`` consecutive months starting at ``first``."""
    start = month_index(first)
    return (from_index(start + i) for i in range(count))


def month_dates(months: Iterable[str | dt.date]) -> list[str]:
    """``YYYY-MM-01`` for each month, in the order given."""
    return [month_start(m) for m in months]


def contiguous_blocks(months: Iterable[str]) -> list[list[str]]:
    """Split months into runs of consecutive months, oldest first (duplicates dropped)."""
    blocks: list[list[str]] = []
    for month in sorted({parse_month(m) for m in months}):
        if blocks and shift_month(blocks[-1][-1], 1) == month:
            blocks[-1].append(month)
        else:
            blocks.append([month])
    return blocks


def parse_month_spec(spec: str | None, available: list[str]) -> list[str]:
    """``2025-01..2025-03``, ``2025-01,2025-04`` or ``all``/None (every available month) -> sorted months.

    Raises ValueError naming the part that is wrong, or the months the sources do not hold.
    """
    if not spec or spec.strip() == "all":
        if not available:
            raise ValueError("the department tables hold no months yet: run `trust synth` first")
        return sorted(available)
    months: set[str] = set()
    for part in spec.split(","):
        lo, sep, hi = part.strip().partition("..")
        first = parse_month(lo)
        last = parse_month(hi) if sep else first
        if month_index(last) < month_index(first):
            raise ValueError(f"range {part.strip()!r} ends before it starts")
        months.update(month_range(first, last))
    missing = sorted(months - set(available))
    if missing:
        held = f"{min(available)}..{max(available)}" if available else "no months"
        raise ValueError(f"no source data for {', '.join(missing)} (sources hold {held})")
    return sorted(months)
