"""Prepare dbt's manifests at set-up, never at import: ``dbt parse`` for Dagster, and a compile for column lineage.

``dbt parse`` gives the graph Dagster loads. It has no compiled SQL, so column lineage could only guess from
column names; the set-up therefore also compiles the models once, with every source pinned to an empty typed
relation (``dbt_args.placeholder_vars``) in a throwaway TRUST_HOME, so no department data is read and no trust
storage is touched, and traces every model column one hop back with sqlglot (``lineage/dbt_columns``). Both land
under ``DBT_LINEAGE_DIR``; the lineage events and the report read them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def _invoke(args: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    from trust_assets.lib.paths import DBT_PROJECT_DIR

    result = dbtRunner().invoke([*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                 str(DBT_PROJECT_DIR), "--quiet"])
    if not result.success:
        sys.exit(f"dbt {args[0]} failed: {result.exception}")


def compile_for_lineage(out_dir: Path) -> Path:
    """Compile the models with placeholder pins into ``out_dir`` and save the traced column hops beside it."""
    from trust_assets.lib.evaluation.lineage.dbt_columns import COLUMN_LINEAGE_FILE, trace_manifest
    from trust_assets.lib.paths import DBT_PROJECT_DIR
    from trust_assets.lib.transform.dbt_args import placeholder_vars

    previous = os.environ.get("TRUST_HOME")
    with tempfile.TemporaryDirectory(prefix="trust-dbt-compile-") as home:
        os.environ["TRUST_HOME"] = home
        Path(home, "trust").mkdir()
        try:
            _invoke(["compile", "--select", "resource_type:model", "--target-path", str(out_dir),
                     "--vars", json.dumps(placeholder_vars())])
        finally:
            if previous is None:
                os.environ.pop("TRUST_HOME", None)
            else:
                os.environ["TRUST_HOME"] = previous
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    hops = trace_manifest(manifest, DBT_PROJECT_DIR)
    path = out_dir / COLUMN_LINEAGE_FILE
    path.write_text(json.dumps(hops, sort_keys=True, indent=1), encoding="utf-8")
    return path


def prepare() -> None:
    from trust_assets.lib.paths import DBT_LINEAGE_DIR, trust_home

    # The profile needs the root to render; parsing never opens the warehouse.
    os.environ.setdefault("TRUST_HOME", str(trust_home()))
    # Whole, never partial: dbt 1.11's partial re-parse of changed files drops singular tests' YAML config
    # (their meta.dagster.ref, so Dagster loses those asset checks; lib/transform/dbt_state.py).
    _invoke(["parse", "--no-partial-parse"])
    compile_for_lineage(DBT_LINEAGE_DIR)


if __name__ == "__main__":
    prepare()
