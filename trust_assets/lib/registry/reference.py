"""The real reference data (ONS districts with population and successors, SIC 2007, sector subject areas).

Residence and workplaces are drawn from the 361 current local authority districts weighted by their real 2020
population, and the "messy" legacy codes are the real GSS codes of districts abolished in the 2019-2023
reorganisations, so the pipeline's conformance step is exercised against the same lookup it will use in production.
Everything is read through ``trust_assets.lib.paths.REFERENCE_DIR`` and cached: nothing is read at import.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from trust_assets.lib.paths import REFERENCE_DIR

LA_FILE = "uk_local_authorities.csv"
SIC_FILE = "sic2007_sections.csv"
SSA_FILE = "sector_subject_areas.csv"
EXPECTED_DISTRICTS = 361

#: SIC 2007 two-digit divisions of each section (public ONS structure).
SIC_DIVISIONS: dict[str, tuple[int, ...]] = {
    "A": (1, 2, 3), "B": (5, 6, 7, 8, 9), "C": tuple(range(10, 34)), "D": (35,), "E": (36, 37, 38, 39),
    "F": (41, 42, 43), "G": (45, 46, 47), "H": (49, 50, 51, 52, 53), "I": (55, 56),
    "J": (58, 59, 60, 61, 62, 63), "K": (64, 65, 66), "L": (68,), "M": (69, 70, 71, 72, 73, 74, 75),
    "N": (77, 78, 79, 80, 81, 82), "O": (84,), "P": (85,), "Q": (86, 87, 88), "R": (90, 91, 92, 93),
    "S": (94, 95, 96), "T": (97, 98), "U": (99,),
}


@dataclass(frozen=True)
class Geography:
    """Current districts (index 0..360) and the abolished districts that may still appear in department records.

    ``codes`` holds every GSS code a record can carry: the current districts first, then the abolished ones, so a
    single int16 index per record says which code it is coded to.
    """

    codes: tuple[str, ...]
    names: tuple[str, ...]
    n_current: int
    #: Population share of each current district (sums to 1).
    weights: np.ndarray
    #: Abolished predecessors of current district i are ``legacy_index[legacy_offsets[i]:legacy_offsets[i + 1]]``
    #: (indices into ``codes``).
    legacy_offsets: np.ndarray
    legacy_index: np.ndarray
    #: abolished GSS code -> the current GSS code its ``replaced-by`` chain ends at.
    successor: dict[str, str]
    #: Region (or nation) of each current district.
    regions: tuple[str, ...] = ()

    def within(self, regions: tuple[str, ...]) -> Geography:
        """The same districts with every weight outside ``regions`` set to zero (renormalised)."""
        import dataclasses

        inside = np.array([r in regions for r in self.regions])
        if not inside.any():
            raise ValueError(f"no current district lies in {list(regions)}; regions are {sorted(set(self.regions))}")
        weights = np.where(inside, self.weights, 0.0)
        return dataclasses.replace(self, weights=weights / weights.sum())

    @property
    def current_codes(self) -> tuple[str, ...]:
        return self.codes[: self.n_current]

    @property
    def abolished_codes(self) -> tuple[str, ...]:
        return self.codes[self.n_current:]


def _read_csv(name: str) -> list[dict[str, str]]:
    path = Path(REFERENCE_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(f"reference file {path} is missing; the synthetic generator needs it")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _is_true(value: str) -> bool:
    return value.strip().lower() == "true"


@cache
def load_geography() -> Geography:
    """Current districts weighted by ``pop-2020`` and their abolished predecessors (chains followed to the end)."""
    rows = _read_csv(LA_FILE)
    by_short = {r["local-authority-code"]: r for r in rows}
    current = [r for r in rows if _is_true(r["current-authority"]) and _is_true(r["lower-or-unitary"])]
    if len(current) != EXPECTED_DISTRICTS:
        raise ValueError(f"{LA_FILE}: expected {EXPECTED_DISTRICTS} current districts, found {len(current)}")
    current.sort(key=lambda r: r["gss-code"])
    position = {r["local-authority-code"]: i for i, r in enumerate(current)}
    population = np.array([float(r["pop-2020"]) for r in current])
    if not np.all(population > 0):
        raise ValueError(f"{LA_FILE}: every current district needs a positive pop-2020")

    # An abolished lower-tier district with a GSS code and a single successor chain ending at a current district
    # is unambiguous for a person living there; county-level rows and split counties are not.
    predecessors: dict[int, list[dict[str, str]]] = {}
    for row in sorted(rows, key=lambda r: r["gss-code"]):
        if not row["end-date"] or not row["gss-code"] or not _is_true(row["lower-or-unitary"]):
            continue
        target, seen = row, set()
        while target["replaced-by"] and "," not in target["replaced-by"] and target["replaced-by"] not in seen:
            seen.add(target["replaced-by"])
            target = by_short.get(target["replaced-by"], {"replaced-by": ""})
        code = target.get("local-authority-code")
        if code in position:
            predecessors.setdefault(position[code], []).append(row)

    legacy_rows = [r for i in sorted(predecessors) for r in predecessors[i]]
    codes = tuple(r["gss-code"] for r in current) + tuple(r["gss-code"] for r in legacy_rows)
    names = tuple(r["nice-name"] for r in current) + tuple(r["nice-name"] for r in legacy_rows)
    counts = np.array([len(predecessors.get(i, ())) for i in range(len(current))])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    legacy_index = (len(current) + np.arange(len(legacy_rows))).astype(np.int16)
    successor = {
        legacy["gss-code"]: current[i]["gss-code"] for i, group in predecessors.items() for legacy in group
    }
    return Geography(codes=codes, names=names, n_current=len(current), weights=population / population.sum(),
                     legacy_offsets=offsets, legacy_index=legacy_index, successor=successor,
                     regions=tuple(r["region"] for r in current))


@cache
def sic_sections() -> tuple[str, ...]:
    """The 21 SIC 2007 section letters, checked against the divisions table above."""
    letters = tuple(r["section"] for r in _read_csv(SIC_FILE))
    if set(letters) != set(SIC_DIVISIONS):
        raise ValueError(f"{SIC_FILE}: sections {letters} do not match the known SIC 2007 sections")
    return letters


@cache
def ssa_tier1() -> tuple[int, ...]:
    """The 15 tier-1 sector subject areas."""
    return tuple(int(r["ssa_tier1"]) for r in _read_csv(SSA_FILE))
