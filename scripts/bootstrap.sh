#!/usr/bin/env bash
# Create or reuse .venv at the repository root from pinned dependencies, then prepare dbt's manifest.
# Idempotent and quick when nothing changed: a stamp records the hash of what was installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
export GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($python --version 2>&1)"
  "$python" -m venv .venv
fi
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.setup-stamp 2>/dev/null || true)" != "$want" ]; then
  echo "[setup] installing pinned dependencies into .venv (constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,spark,postgres,s3]"
  echo "$want" > .venv/.setup-stamp
fi
# dbt's manifest is prepared here, never committed and never parsed at import time.
if [ ! -f dbt_project/target/manifest.json ] || [ ! -f dbt_project/target/lineage/column_lineage.json ] \
   || [ -n "$(find dbt_project -newer dbt_project/target/lineage/column_lineage.json \
     \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -not -path '*/target/*' -print -quit)" ]; then
  echo "[setup] preparing dbt manifests (dbt parse; dbt compile for column lineage)"
  .venv/bin/python -m trust_assets.lib.transform.dbt_prepare
fi
# GX Data Docs link Bootstrap, jQuery and others from CDNs; fetch those exact versions once (npm pack) so the pages
# work offline (trust_assets/lib/audit/data_docs_assets.py). Without npm the pages keep their CDN links.
if [ ! -f .cache/gx-static/jquery/jquery.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    .venv/bin/python -m trust_assets.lib.audit.data_docs_assets || echo "[setup] GX Data Docs keep their CDN links"
  else
    echo "[setup] npm not found: GX Data Docs keep their CDN links"
  fi
fi
