"""The trust's one memory setting, ``TRUST_MEMORY_LIMIT`` (e.g. ``6GiB``), and what it means for DuckDB.

``trust run`` and ``trust bench`` read it here, once, and nowhere else parses it. A run's DuckDB (the dbt warehouse
connection) gets a share of it as ``memory_limit``, spills past that into ``$TRUST_HOME/trust/spill`` and stops when
the spill reaches ``TRUST_SPILL_LIMIT`` (default: twice the memory limit), so a month that does not fit fails fast
with a message naming the setting instead of filling the disk. The rest of the limit is headroom for what DuckDB's
buffer manager does not count: the Dagster and dbt interpreters and Arrow buffers outside DuckDB.
Unset, the profile's own defaults apply (dbt_project/profiles.yml), unchanged.

``TRUST_SCRATCH`` says where a run's person-level scratch database (``run_scratch``) lives: ``memory`` (default) or
``file`` (``$TRUST_HOME/trust/scratch/run_scratch.duckdb``). Both are held to the memory limit: DuckDB offloads
in-memory tables' blocks to the spill folder as it evicts a file's. Memory skips what a file costs on every write,
choosing and applying compression and writing the blocks (the national PAYE screening 25.0 -> 13.2 s timed alone,
a national month 139 -> ~100 s, docs/benchmarks.md "Findings (2026-12-04)"); a file's blocks are compressed, so
it spills less when the limit is far below the month's person-level tables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from trust_assets.lib.paths import TrustPaths

MEMORY_ENV = "TRUST_MEMORY_LIMIT"
SPILL_ENV = "TRUST_SPILL_LIMIT"
SCRATCH_ENV = "TRUST_SCRATCH"
SCRATCH_KINDS = ("memory", "file")
#: Share of the limit given to DuckDB's buffer manager; the rest is the interpreters' and Arrow's headroom.
DUCKDB_SHARE = 0.7
#: Smallest limit accepted: below it the interpreters alone do not fit, so the run could never succeed.
MINIMUM = 1 << 30

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)

#: Words of DuckDB's errors when a query does not fit its memory limit or spill cap.
_DUCKDB_MEMORY_ERRORS = ("out of memory", "max_temp_directory_size", "could not allocate")


class MemoryLimitError(ValueError):
    """A memory setting that cannot be read; the message names the variable and the value."""


@dataclass(frozen=True)
class MemoryBudget:
    """The process tree's limit and DuckDB's spill cap, in bytes, with the text the operator wrote."""

    limit: int
    spill: int
    text: str

    @property
    def duckdb_limit(self) -> int:
        return int(self.limit * DUCKDB_SHARE)

    def duckdb_environment(self, paths: TrustPaths) -> dict[str, str]:
        """The variables dbt's profile reads for its DuckDB settings (dbt_project/profiles.yml)."""
        return {"TRUST_DUCKDB_MEMORY_LIMIT": _mib(self.duckdb_limit), "TRUST_DUCKDB_MAX_TEMP": _mib(self.spill),
                "TRUST_DUCKDB_TEMP_DIRECTORY": str(paths.duckdb_spill),
                # one dbt node at a time: two heavy marts at once share the limit and spill past the cap
                "TRUST_DBT_THREADS": "1"}

    def describe(self) -> str:
        return (f"{MEMORY_ENV}={self.text} (DuckDB memory_limit {_mib(self.duckdb_limit)}, "
                f"spill cap {SPILL_ENV}={_mib(self.spill)})")


def parse_size(text: str, name: str = MEMORY_ENV) -> int:
    """``6GiB``, ``6144MiB``, ``6.5GB`` -> bytes. A unit is required: ``6`` could be bytes or gigabytes."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise MemoryLimitError(f"{name}={text!r} is not a size: write a number and a unit, e.g. 6GiB or 6144MiB "
                               f"(units: {', '.join(u for u in _UNITS)}, any case)")
    return int(float(match.group(1)) * _UNITS[unit])


def scratch_kind(environ: Mapping[str, str] | None = None) -> str:
    """``memory`` or ``file``, from TRUST_SCRATCH (unset or empty: ``memory``)."""
    env = os.environ if environ is None else environ
    text = env.get(SCRATCH_ENV, "").strip()
    if text.lower() not in ("", *SCRATCH_KINDS):
        raise MemoryLimitError(f"{SCRATCH_ENV}={text!r} is not a scratch location: write memory (the default) or file")
    return text.lower() or "memory"


def memory_budget(environ: Mapping[str, str] | None = None) -> MemoryBudget | None:
    """The budget the environment sets, or None when ``TRUST_MEMORY_LIMIT`` is unset or empty."""
    env = os.environ if environ is None else environ
    text = env.get(MEMORY_ENV, "").strip()
    if not text:
        return None
    limit = parse_size(text)
    if limit < MINIMUM:
        raise MemoryLimitError(f"{MEMORY_ENV}={text!r} is below the 1GiB a run needs for its interpreters alone")
    spill_text = env.get(SPILL_ENV, "").strip()
    spill = parse_size(spill_text, SPILL_ENV) if spill_text else 2 * limit
    return MemoryBudget(limit, spill, text)


def export_duckdb_settings(paths: TrustPaths, environ: dict[str, str] | None = None) -> MemoryBudget | None:
    """Put the budget's DuckDB settings where dbt's profile reads them (this process's environment by default).

    The spill folder is always under TRUST_HOME, limit or not; it is created here because DuckDB will not. The
    run's ``run_scratch`` database is ``:memory:`` or, with TRUST_SCRATCH=file, the file TrustPaths.duckdb_scratch
    (its folder created here too).
    """
    env = os.environ if environ is None else environ
    budget = memory_budget(env)
    kind = scratch_kind(env)
    paths.duckdb_spill.mkdir(parents=True, exist_ok=True)
    env["TRUST_DUCKDB_TEMP_DIRECTORY"] = str(paths.duckdb_spill)
    if kind == "file":
        paths.duckdb_scratch.parent.mkdir(parents=True, exist_ok=True)
        env["TRUST_DUCKDB_SCRATCH"] = str(paths.duckdb_scratch)
    else:
        env["TRUST_DUCKDB_SCRATCH"] = ":memory:"
    if budget is not None:
        env.update(budget.duckdb_environment(paths))
    return budget


def explain_memory_error(message: str, environ: Mapping[str, str] | None = None) -> str | None:
    """For a DuckDB error that says the run did not fit: which setting bounded it and how to change it."""
    if not any(words in message.lower() for words in _DUCKDB_MEMORY_ERRORS):
        return None
    try:
        budget = memory_budget(environ)
    except MemoryLimitError:
        budget = None
    if budget is None:
        return (f"DuckDB ran out of memory or spill space under the profile's defaults; set {MEMORY_ENV} "
                f"(e.g. 6GiB) and {SPILL_ENV} to bound the run explicitly")
    return f"the run did not fit {budget.describe()}: raise {MEMORY_ENV} or {SPILL_ENV}, or use a bigger machine"


def _mib(size: int) -> str:
    return f"{size >> 20}MiB"
