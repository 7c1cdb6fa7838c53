#!/usr/bin/env bash
# The whole test suite: set up .venv if needed, install test services, lint, then pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
bash scripts/install-test-services.sh
export GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
.venv/bin/ruff check trust_assets tests
exec .venv/bin/python -m pytest "$@"
