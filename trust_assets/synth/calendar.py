"""Months as day numbers (days since 1970-01-01, Arrow's date32), so dates are plain int32 numpy arithmetic."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

EPOCH = dt.date(1970, 1, 1)
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month; the error names the problem."""
    match = MONTH_PATTERN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"month {text!r} is not in YYYY-MM form (e.g. 2025-01)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month {text!r} has month {month:02d}; it must be 01-12")
    return dt.date(year, month, 1)


@dataclass(frozen=True)
class Month:
    index: int
    first: dt.date

    @property
    def label(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def iso(self) -> str:
        return self.first.isoformat()

    @property
    def next_first(self) -> dt.date:
        return dt.date(self.first.year + self.first.month // 12, self.first.month % 12 + 1, 1)

    @property
    def start_day(self) -> int:
        return day_number(self.first)

    @property
    def days(self) -> int:
        return (self.next_first - self.first).days

    @property
    def end_day(self) -> int:
        """The last day of the month."""
        return self.start_day + self.days - 1

    def random_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Uniform days within the month."""
        return (self.start_day + np.floor(rng.random(n) * self.days)).astype(np.int32)


def month_at(start: dt.date, index: int) -> Month:
    total = start.year * 12 + start.month - 1 + index
    return Month(index, dt.date(total // 12, total % 12 + 1, 1))
