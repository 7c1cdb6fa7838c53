"""Months as day numbers (days since 1970-01-01, Arrow's date32), so dates are plain int32 numpy arithmetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from trust_assets.lib import months

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month; the error names the problem."""
    return months.first_day(text)


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
        return months.first_day(months.shift_month(self.first, 1))

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
    return Month(index, months.first_day(months.shift_month(start, index)))
