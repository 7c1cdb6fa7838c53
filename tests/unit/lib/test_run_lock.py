"""The home's run lock: one run at a time whoever starts it, re-entrant within a process (``trust run``'s own
Dagster run), and a waiting run says for whom it waits."""

from __future__ import annotations

import subprocess
import sys
import time

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.run_lock import held_here, holder, home_lock

CHILD = """
import sys
from pathlib import Path
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.run_lock import home_lock
with home_lock(TrustPaths(Path(sys.argv[1])), "Dagster run child", on_wait=lambda m: print(m, flush=True)):
    print("acquired", flush=True)
"""


def test_the_lock_is_reentrant_in_one_process_and_names_its_holder(tmp_path):
    paths = TrustPaths(tmp_path)
    assert not held_here(paths)
    with home_lock(paths, "trust run", on_wait=lambda m: (_ for _ in ()).throw(AssertionError(m))):
        assert held_here(paths)
        with home_lock(paths, "Dagster run abc", on_wait=lambda m: (_ for _ in ()).throw(AssertionError(m))):
            assert held_here(paths)  # the in-process Dagster run of `trust run` does not wait for itself
        assert held_here(paths)
        assert holder(paths).startswith("trust run, pid ")
    assert not held_here(paths)


def test_another_process_waits_saying_for_whom_then_runs(tmp_path):
    paths = TrustPaths(tmp_path)
    with home_lock(paths, "trust run"):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        try:
            first = child.stdout.readline()  # blocks until the child has tried the lock
            assert "another run is using" in first and "(trust run, pid " in first, first
            time.sleep(0.5)
            assert child.poll() is None, "the child must wait while the lock is held"
        except BaseException:
            child.kill()
            raise
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and out.strip() == "acquired"
    assert holder(paths).startswith("Dagster run child, pid ")
