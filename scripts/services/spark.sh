# spark: see scripts/services.sh. Not implemented yet.
spark_start() { echo "[services] spark: not implemented yet" >&2; return 1; }
spark_stop() { echo "[services] spark: not implemented yet" >&2; }
spark_status() { echo "spark: not implemented"; }
