"""The memory setting as the commands that run DuckDB check it: a bad ``TRUST_MEMORY_LIMIT`` is a usage error.

Checked before anything starts, so a typo in the setting costs one line on the console (exit 2), not a half-built
month; the setting itself is parsed and applied in trust_assets/lib/memory.py.
"""

from __future__ import annotations

import click


class MemorySettingError(click.ClickException):
    """Exit 2 like any usage error, with the one-line message and no usage block."""

    exit_code = 2


def check_memory_setting() -> None:
    """Parse TRUST_MEMORY_LIMIT / TRUST_SPILL_LIMIT / TRUST_SCRATCH now, so ``trust run`` and ``trust bench`` refuse
    bad values."""
    from trust_assets.lib.memory import MemoryLimitError, memory_budget, scratch_kind

    try:
        memory_budget()
        scratch_kind()
    except MemoryLimitError as exc:
        raise MemorySettingError(str(exc)) from None
