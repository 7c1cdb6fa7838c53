"""Prepare dbt's manifest (``dbt parse``): run by the set-up and test commands, never at import."""

from __future__ import annotations

import os
import sys


def prepare() -> None:
    from dbt.cli.main import dbtRunner

    from trust_assets.lib.paths import DBT_PROJECT_DIR, trust_home

    # The profile needs the root to render; parsing never opens the warehouse.
    os.environ.setdefault("TRUST_HOME", str(trust_home()))
    result = dbtRunner().invoke(
        ["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"]
    )
    if not result.success:
        sys.exit(f"dbt parse failed: {result.exception}")


if __name__ == "__main__":
    prepare()
