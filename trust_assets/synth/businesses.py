"""The business register (BEIS) as numpy state: employing and non-employing businesses, births and deaths.

A business is an index into these arrays; employers' PAYE references are scrambled from that index, so HMRC and
BEIS agree on ``employer_id`` without a lookup table. Employers born in a month can hire from the next month and
employers dying in a month have shed their staff at its start, so every employment HMRC reports belongs to an
employer the register shows alive for the whole month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trust_assets.lib.registry.reference import SIC_DIVISIONS, Geography
from trust_assets.synth import params as p
from trust_assets.synth.calendar import Month

ALIVE = -1


def draw_districts(rng: np.random.Generator, geo: Geography, n: int) -> np.ndarray:
    """Current districts drawn by real population share."""
    idx = np.searchsorted(np.cumsum(geo.weights), rng.random(n), side="right")
    return np.minimum(idx, geo.n_current - 1).astype(np.int16)


def draw_legacy(rng: np.random.Generator, geo: Geography, la: np.ndarray) -> np.ndarray:
    """For each record in a reorganised district, one of its abolished predecessors (else -1)."""
    lo = geo.legacy_offsets[la]
    count = geo.legacy_offsets[la.astype(np.int32) + 1] - lo
    pick = lo + np.floor(rng.random(len(la)) * count).astype(np.int32)
    has = count > 0
    out = np.full(len(la), -1, dtype=np.int16)
    out[has] = geo.legacy_index[pick[has]]
    return out


def _sections(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = np.array([s.employer_share for s in p.SECTORS])
    idx = np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(n), side="right")
    return np.minimum(idx, len(p.SECTORS) - 1).astype(np.int8)


def _divisions(rng: np.random.Generator, section: np.ndarray) -> np.ndarray:
    out = np.empty(len(section), dtype=np.int8)
    u = rng.random(len(section))
    for i, sector in enumerate(p.SECTORS):
        mask = section == i
        choices = np.array(SIC_DIVISIONS[sector.section], dtype=np.int8)
        out[mask] = choices[np.minimum((u[mask] * len(choices)).astype(np.int64), len(choices) - 1)]
    return out


@dataclass
class Register:
    section: np.ndarray  # int8 index into params.SECTORS
    division: np.ndarray  # int8 SIC division number
    la: np.ndarray  # int16 current district of the main workplace
    legacy: np.ndarray  # int16 abolished predecessor code BEIS may still use, -1 none
    legacy_used: np.ndarray  # bool: BEIS codes this business to ``legacy``
    employer: np.ndarray  # bool: has a PAYE scheme
    weight: np.ndarray  # float64 relative hiring size (0 for non-employers)
    band: np.ndarray  # int8 index into params.SIZE_BANDS
    birth: np.ndarray  # int32 day
    death: np.ndarray  # int32 day, ALIVE while trading

    def __len__(self) -> int:
        return len(self.birth)

    @classmethod
    def new(cls, rng: np.random.Generator, geo: Geography, n_employers: int, n_non_employers: int,
            birth: np.ndarray) -> Register:
        n = n_employers + n_non_employers
        section = _sections(rng, n)
        la = draw_districts(rng, geo, n)
        employer = np.zeros(n, dtype=bool)
        employer[:n_employers] = True
        size = np.array([s.size_factor for s in p.SECTORS])[section]
        weight = np.where(employer, rng.lognormal(0.0, p.EMPLOYER_WEIGHT_SIGMA, n) * size, 0.0)
        return cls(section=section, division=_divisions(rng, section), la=la, legacy=draw_legacy(rng, geo, la),
                   legacy_used=rng.random(n) < p.LEGACY_CODE_SHARE, employer=employer, weight=weight,
                   band=np.where(employer, 1, 0).astype(np.int8), birth=birth.astype(np.int32),
                   death=np.full(n, ALIVE, dtype=np.int32))

    @classmethod
    def initial(cls, rng: np.random.Generator, geo: Geography, n_employers: int, n_non_employers: int,
                start: Month) -> Register:
        """Businesses trading at the start month, born over the decades before it."""
        n = n_employers + n_non_employers
        age_days = np.ceil(rng.exponential(p.BUSINESS_AGE_MEAN_YEARS * 365.25, n)).clip(1, 60 * 365)
        return cls.new(rng, geo, n_employers, n_non_employers, start.start_day - age_days)

    def set_bands(self, employees: np.ndarray) -> None:
        """Size bands from the head count at registration (at least 1-9 for an employer)."""
        band = np.searchsorted(p.SIZE_BAND_LOWER, np.maximum(employees, 1), side="right") - 1
        self.band = np.where(self.employer, band, 0).astype(np.int8)

    def extend(self, other: Register) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def coded_la(self, index: np.ndarray, mess: bool) -> np.ndarray:
        """The district code BEIS records: a legacy code for some businesses in reorganised areas."""
        la = self.la[index]
        if not mess:
            return la
        legacy = self.legacy[index]
        return np.where(self.legacy_used[index] & (legacy >= 0), legacy, la).astype(np.int16)

    def _distinguishable(self) -> np.ndarray:
        """Non-employers whose (division, district code, birth date) is unique among the living, under either coding.

        The register has no id for non-employing businesses, so a death is applied by matching those columns; only
        businesses that match exactly one live row are allowed to die.
        """
        ok = (self.death == ALIVE) & ~self.employer
        idx = np.flatnonzero(ok)
        for mess in (False, True):
            key = ((self.division[idx].astype(np.int64) << 40) | (self.coded_la(idx, mess).astype(np.int64) << 24)
                   | (self.birth[idx].astype(np.int64) & 0xFFFFFF))
            _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
            ok[idx[counts[inverse] > 1]] = False
        return ok

    def step(self, rng: np.random.Generator, geo: Geography, month: Month) -> tuple[np.ndarray, np.ndarray]:
        """Deaths and births in ``month``; returns (index of businesses dying, index of businesses born)."""
        existing = (self.death == ALIVE) & (self.birth < month.start_day)
        eligible = existing & (self.employer | self._distinguishable())
        hazard = p.BUSINESS_DEATH[self.band]
        dying = np.flatnonzero(eligible & (rng.random(len(self)) < hazard))
        self.death[dying] = month.random_days(rng, len(dying))

        n_employers = rng.poisson(p.EMPLOYER_BIRTH * np.count_nonzero(existing & self.employer))
        n_others = rng.poisson(p.NON_EMPLOYER_BIRTH * np.count_nonzero(existing & ~self.employer))
        born = Register.new(rng, geo, n_employers, n_others, month.random_days(rng, n_employers + n_others))
        born.weight *= p.NEW_EMPLOYER_WEIGHT_FACTOR
        first = len(self)
        self.extend(born)
        return dying, np.arange(first, len(self))

    def sampler(self, month: Month, n_districts: int) -> EmployerSampler:
        """Who can hire in ``month``: employers born before it that do not die during it."""
        hiring = self.employer & (self.birth < month.start_day) & (self.death == ALIVE)
        return EmployerSampler(self.la, np.where(hiring, self.weight, 0.0), n_districts)


class EmployerSampler:
    """Draws employers by size, mostly in the worker's own district (vectorised inverse-CDF over sorted weights)."""

    def __init__(self, la: np.ndarray, weight: np.ndarray, n_districts: int) -> None:
        self.order = np.argsort(la, kind="stable")
        self.cum = np.cumsum(weight[self.order])
        self.total = float(self.cum[-1]) if len(self.cum) else 0.0
        if self.total <= 0:
            raise ValueError("no employer can hire this month; the population is too small")
        counts = np.bincount(la, minlength=n_districts)
        hi = np.cumsum(counts)
        lo = hi - counts
        padded = np.concatenate([[0.0], self.cum])
        self.cum_lo, self.cum_hi = padded[lo], padded[hi]

    def draw(self, rng: np.random.Generator, home_la: np.ndarray) -> np.ndarray:
        n = len(home_la)
        u = rng.random(n)
        local = rng.random(n) < p.LOCAL_HIRE_SHARE
        lo = np.where(local, self.cum_lo[home_la], 0.0)
        hi = np.where(local, self.cum_hi[home_la], self.total)
        empty = hi - lo <= 0
        lo[empty], hi[empty] = 0.0, self.total
        # keep the target strictly below the block's upper edge so rounding never lands on a non-hiring employer
        target = np.minimum(lo + u * (hi - lo), np.nextafter(hi, 0.0))
        # sorted needles make the binary searches cache-friendly (about 4x faster at national scale)
        order = np.argsort(target)
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.searchsorted(self.cum, target[order], side="right")
        return self.order[np.minimum(pos, len(self.cum) - 1)].astype(np.int32)
