"""Loading Great Expectations: lazily (it is heavy), with its analytics off, and early where a core is idle."""

from __future__ import annotations

import os


def load_gx():
    """Import GX lazily, with its analytics off (it phones home otherwise)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    return gx


def import_in_background() -> None:
    """Start importing GX in a daemon thread, so the audit finds it loaded.

    The import takes 3.4 s (it loads pyspark's compatibility layer too) and the audit is the first to need it; the
    dbt step calls this as it starts dbt, whose first seconds (start-up, parsing) leave a core idle while the step's
    own thread waits on dbt's output. An import that fails here is not reported: the audit imports again and fails
    with the real error. Python's import lock makes a second import wait for this one rather than repeat it.
    """
    import threading
    from contextlib import suppress

    def load() -> None:
        with suppress(BaseException):  # pyspark may raise SystemExit; the audit's own import reports any failure
            load_gx()

    threading.Thread(target=load, name="import-great-expectations", daemon=True).start()
