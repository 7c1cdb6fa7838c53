# postgres: see scripts/services.sh. Not implemented yet.
postgres_start() { echo "[services] postgres: not implemented yet" >&2; return 1; }
postgres_stop() { echo "[services] postgres: not implemented yet" >&2; }
postgres_status() { echo "postgres: not implemented"; }
