"""One run at a time per ``TRUST_HOME``.

In-process runs bypass the instance's run queue, and dbt's DuckDB warehouse allows one writer, so ``trust run``,
``--reproduce`` and the demo take an exclusive file lock. A second run waits for the first rather than failing
half-way.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from trust_assets.lib.paths import TrustPaths


@contextmanager
def run_lock(paths: TrustPaths, echo: Callable[[str], None] = print) -> Iterator[None]:
    handle = (paths.trust / ".run.lock").open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"[run] another run is using {paths.root}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()
