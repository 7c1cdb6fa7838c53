"""Which person-level CTEs of a compiled DuckDB model would DuckDB store (imported as `_stored_ctes`).

DuckDB 2 materialises a CTE that is read more than once, unless it is cheap (a filter or projection of another
CTE, which it inlines; a read of run_scratch is not cheap, its person-level views are joins) or written
``as not materialized`` (the project's ``trust_inlined()`` macro). A stored copy of a person-level CTE (30 M PAYE
rows a month at national scale) is what spilled past the 12 GiB cap under TRUST_MEMORY_LIMIT=6GiB when
sector_region_monthly lost its ``trust_inlined()`` (docs/benchmarks.md, "Findings"): the pay statistics macro
reads its input twice, through a CTE that is itself read once. Counting the reads through inlined CTEs is what
catches that; reading the model by eye did not.

The models are sqlfluff-formatted, so every CTE starts a line as ``name as (`` (or ``name as not materialized (``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEFINITION = re.compile(
    r"^[ \t]*,?[ \t]*(?:with[ \t]+)?([a-z_][a-z0-9_]*)[ \t]+as[ \t]+(not[ \t]+materialized[ \t]+)?\(",
    re.IGNORECASE | re.MULTILINE)
_EXPENSIVE = re.compile(r"\bjoin\b|\bgroup\s+by\b|\bover\s*\(|\bdistinct\b|\bunion\b", re.IGNORECASE)
_AGGREGATE = re.compile(r"\bgroup\s+by\b|\bdistinct\b", re.IGNORECASE)
#: the person-level relations live in dbt's run_scratch database (dbt_project.yml, intermediate models)
_PERSON_LEVEL = re.compile(r'"?run_scratch"?\.', re.IGNORECASE)


@dataclass(frozen=True)
class Cte:
    name: str
    body: str
    inlined: bool


def ctes(sql: str) -> tuple[list[Cte], str]:
    """The CTEs in definition order, and the text after the last one (the final select). Comments are dropped."""
    sql = re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)
    found = list(_DEFINITION.finditer(sql))
    out = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(sql)
        out.append(Cte(match.group(1).lower(), sql[match.end():end], bool(match.group(2))))
    if not out:
        return [], sql
    last = out[-1].body
    close = _closing_paren(last)
    return [*out[:-1], Cte(out[-1].name, last[:close], out[-1].inlined)], last[close:]


def _closing_paren(text: str) -> int:
    depth = 1
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return len(text)


def _reads(name: str, text: str) -> int:
    return len(re.findall(rf"\b{re.escape(name)}\b", text, re.IGNORECASE))


def stored_person_level_ctes(sql: str) -> dict[str, int]:
    """Person-level row CTEs DuckDB would store: name -> how many times the query reads it (through inlined CTEs).

    A CTE is person-level when it reads run_scratch or another person-level CTE, and row-level when it does not
    aggregate (no group by, no distinct: an aggregate's stored copy is small). Reads are counted from the final
    select backwards: a consumer that is itself stored counts once, an inlined (or cheap, or read-once) consumer
    passes on its own count.
    """
    defined, final = ctes(sql)
    person: set[str] = set()
    for cte in defined:
        if _PERSON_LEVEL.search(cte.body) or any(_reads(p, cte.body) for p in person):
            person.add(cte.name)
    reads: dict[str, int] = {}
    stored: set[str] = set()
    for index in range(len(defined) - 1, -1, -1):
        cte = defined[index]
        total = _reads(cte.name, final)
        for consumer in defined[index + 1:]:
            uses = _reads(cte.name, consumer.body)
            if uses:
                total += uses * (1 if consumer.name in stored else reads[consumer.name])
        reads[cte.name] = total
        # reading run_scratch counts as expensive: its person-level views are joins (int_employments_linked)
        if total > 1 and not cte.inlined and (_EXPENSIVE.search(cte.body) or _PERSON_LEVEL.search(cte.body)):
            stored.add(cte.name)
    row_level = {c.name for c in defined if not _AGGREGATE.search(c.body)}
    return {name: reads[name] for name in sorted(stored & person & row_level)}
