"""Lint the dbt project with sqlfluff's dbt templater: the SQL checked is the SQL dbt compiles.

The models need the run's --vars to compile (the pinned sources and the months); lint compiles them with every
source pinned to an empty, typed relation of its agreed columns and one month, in a throwaway TRUST_HOME, so
linting never reads department data. Usage: python scripts/lint_sql.py [--fix] [PATHS...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT = ROOT / "dbt_project"


def lint_vars() -> dict:
    from trust_assets.lib.transform.dbt_args import placeholder_vars

    return placeholder_vars()


def main(argv: list[str]) -> int:
    from sqlfluff.core import FluffConfig, Linter

    fix = "--fix" in argv
    paths = [a for a in argv if not a.startswith("--")] or ["."]
    with tempfile.TemporaryDirectory(prefix="trust-sql-lint-") as home:
        os.environ["TRUST_HOME"] = home
        Path(home, "trust").mkdir()
        os.chdir(DBT)
        config = FluffConfig.from_path(str(DBT), overrides={"templater": "dbt"})
        # set_value would coerce the nested pins to text; the templater reads this section as a dict.
        config._configs.setdefault("templater", {}).setdefault("dbt", {})["context"] = lint_vars()
        result = Linter(config=config).lint_paths(tuple(paths), fix=fix, apply_fixes=fix)
    violations = result.as_records()
    count = 0
    for record in violations:
        for v in record["violations"]:
            count += 1
            print(f"{record['filepath']}:{v['start_line_no']}:{v['start_line_pos']}: {v['code']} {v['description']}")
    print(f"sqlfluff: {count} violation(s) in {len(violations)} file(s)")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
