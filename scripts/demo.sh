#!/usr/bin/env bash
# The demo: set up .venv if needed, then generate a small population, run every month and summarise the products.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/trust" demo "$@"
