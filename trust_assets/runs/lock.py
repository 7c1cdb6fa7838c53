"""One run at a time per ``TRUST_HOME``.

In-process runs bypass the instance's run queue, and dbt's DuckDB warehouse allows one writer, so ``trust run``,
``--reproduce`` and the demo take the home's exclusive run lock (``lib/run_lock.py``); runs launched from the UI,
a sensor or a schedule take the same lock when their resources start. A second run waits for the first, saying
which, rather than failing half-way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.run_lock import home_lock


@contextmanager
def run_lock(paths: TrustPaths, echo: Callable[[str], None] = print) -> Iterator[None]:
    with home_lock(paths, "trust run", on_wait=lambda message: echo(f"[run] {message}")):
        yield
