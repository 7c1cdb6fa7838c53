"""One run at a time per ``TRUST_HOME``, whoever starts it: ``trust run`` (and ``--reproduce``, the demo) and a run
the Dagster UI, a sensor or a schedule launches.

dbt's DuckDB warehouse allows one writer, and a release (marts → candidates → published → manifest) must not
interleave with another run's, so every run holds an exclusive ``flock`` on ``trust/.run.lock`` from before its
first step to its end. ``trust run`` takes it around its Dagster runs (``runs/lock.py``); a run launched from the UI
takes it when its resources are initialised (``defs/resources.py``, ``SourcePins``), before any step runs. The
kernel releases it when the holder dies, so a killed run never keeps it. The lock is re-entrant within a process
(the in-process Dagster run of ``trust run`` finds its own command already holding it) and records who holds it,
so a run that waits says what it waits for.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from trust_assets.lib.paths import TrustPaths

#: Lock file -> how many times this process holds it (re-entrance); guarded by ``_GUARD``.
_HELD: dict[str, int] = {}
_GUARD = threading.Lock()


def lock_path(paths: TrustPaths):
    return paths.trust / ".run.lock"


def holder(paths: TrustPaths) -> str:
    """Who holds (or last held) the lock, as its holder recorded it; '' when unknown."""
    try:
        return lock_path(paths).read_text().strip()
    except OSError:
        return ""


def held_here(paths: TrustPaths) -> bool:
    with _GUARD:
        return _HELD.get(str(lock_path(paths)), 0) > 0


@contextmanager
def home_lock(paths: TrustPaths, what: str, on_wait: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the home's run lock for the block (waiting for another holder first, and saying so via ``on_wait``).

    ``what`` describes the holder for whoever waits (e.g. ``trust run`` or ``Dagster run <id>``).
    """
    key = str(lock_path(paths))
    with _GUARD:
        if _HELD.get(key, 0) > 0:
            _HELD[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _GUARD:
                _HELD[key] -= 1
        return
    paths.trust.mkdir(parents=True, exist_ok=True)
    handle = open(key, "a+")  # noqa: SIM115 - held open for the whole block: the lock lives as long as the handle
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(f"another run is using {paths.root} ({holder(paths) or 'holder unknown'}); "
                    "waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        handle.write(f"{what}, pid {os.getpid()} on {socket.gethostname()}, since {stamp}\n")
        handle.flush()
        with _GUARD:
            _HELD[key] = 1
        try:
            yield
        finally:
            with _GUARD:
                _HELD[key] = 0
    finally:
        handle.close()
