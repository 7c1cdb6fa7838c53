"""Reference data for the floor and the peer: current districts, SIC sections, subject areas, and code conformance.

The floor and the peer compute the products' definitions (docs/products.md) without dbt, so they need the same
conformance of recorded district codes to the 361 current districts. This is a few hundred reference rows, read
from the dbt seeds and resolved in Python once: it is not where the time goes, and re-deriving it independently of
``int_district_codes_conformed`` makes the floor a check on the pipeline rather than a copy of it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trust_assets.lib.paths import REFERENCE_DIR

#: Same bound as dbt's var trust_succession_max_hops.
MAX_HOPS = 4


@dataclass(frozen=True)
class District:
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class Reference:
    districts: tuple[District, ...]
    #: recorded GSS code (upper-cased, trimmed) -> the current district it conforms to; unconformable codes absent
    conformed: dict[str, District]
    sic_sections: tuple[str, ...]
    ssa_tier1: tuple[int, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({d.region for d in self.districts}))


def _flag(value: str) -> bool:
    return value.strip().lower() == "true"


def _split(value: str) -> list[str]:
    return [part for part in value.upper().replace(" ", "").split(",")]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _successor_steps(authorities: dict[str, dict[str, str]]) -> dict[str, tuple[str, bool]]:
    """Former code -> (the successor it moves to, whether it was split): a split goes to the larger successor by
    2020 population, ties to the lower code."""

    def population(code: str | None) -> float:
        row = authorities.get(code or "")
        return float(row["pop-2020"]) if row and row["pop-2020"] else 0.0

    steps: dict[str, tuple[str, bool]] = {}
    for code, row in authorities.items():
        if _flag(row["current-authority"]) or not row["replaced-by"]:
            continue
        parts = _split(row["replaced-by"])
        first = parts[0] or None
        second = parts[1] if len(parts) > 1 and parts[1] else None
        larger_second = second is not None and (population(second) > population(first) or (
            population(second) == population(first) and second < (first or "")))
        chosen = second if larger_second else first
        if chosen:
            steps[code] = (chosen, second is not None)
    return steps


def conform_codes(rows: list[dict[str, str]]) -> dict[str, District]:
    """Recorded code -> current district, by the rules of docs/products.md (current, former code, successor walk
    with the larger-successor split rule); codes that resolve to no current district are left out."""
    authorities = {r["local-authority-code"]: r for r in rows}
    next_step = _successor_steps(authorities)

    def resolve(start: str) -> str:
        # the rule names (successor, split) matter to the audit, not to which district a code lands in
        code = start
        for _ in range(MAX_HOPS):
            if code not in next_step:
                break
            code = next_step[code][0]
        return code

    def is_district(row: dict[str, str]) -> bool:
        return _flag(row["current-authority"]) and _flag(row["lower-or-unitary"])

    # (priority, target is not a district, start code) ranks candidates for one recorded code, as the dbt model does
    candidates: dict[str, tuple[tuple[int, int, str], dict[str, str] | None]] = {}
    for start, row in authorities.items():
        target = authorities.get(resolve(start))
        if target is None:
            continue
        usable = _flag(target["current-authority"]) and is_district(target)
        recorded = [(row["gss-code"].strip().upper(), 0)] if row["gss-code"].strip() else []
        if row["former-gss-codes"]:
            recorded += [(c, 1) for c in _split(row["former-gss-codes"])[:3] if c]
        for code, priority in recorded:
            rank = (priority, 0 if is_district(target) else 1, start)
            if code not in candidates or rank < candidates[code][0]:
                candidates[code] = (rank, target if usable else None)
    return {code: District(t["gss-code"].strip().upper(), t["nice-name"], t["region"])
            for code, (_, t) in candidates.items() if t is not None}


@cache
def reference(seed_dir: Path = REFERENCE_DIR) -> Reference:
    rows = _read(seed_dir / "uk_local_authorities.csv")
    districts = tuple(sorted((District(r["gss-code"].strip().upper(), r["nice-name"], r["region"]) for r in rows
                              if _flag(r["current-authority"]) and _flag(r["lower-or-unitary"])),
                             key=lambda d: d.code))
    sections = tuple(sorted(r["section"].strip().upper() for r in _read(seed_dir / "sic2007_sections.csv")))
    subject_areas = tuple(sorted(int(r["ssa_tier1"]) for r in _read(seed_dir / "sector_subject_areas.csv")))
    return Reference(districts, conform_codes(rows), sections, subject_areas)
