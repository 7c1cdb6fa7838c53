#!/usr/bin/env bash
# The whole test suite: set up .venv if needed, install test services, the code rules (lint, imports, dependencies,
# types, SQL), then pytest. Any failing step fails the command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
bash scripts/install-test-services.sh
export GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
step() { echo "[test] $1"; shift; "$@"; }
step "ruff (style, complexity)" .venv/bin/ruff check trust_assets tests scripts
step "import-linter (layers, forbidden imports, no cycles)" .venv/bin/lint-imports --no-cache
step "deptry (runtime imports are runtime dependencies)" .venv/bin/deptry .
step "mypy (types)" .venv/bin/mypy
step "sqlfluff (dbt project, dbt templater)" .venv/bin/python scripts/lint_sql.py
exec .venv/bin/python -m pytest "$@"
