# s3: see scripts/services.sh. Not implemented yet.
s3_start() { echo "[services] s3: not implemented yet" >&2; return 1; }
s3_stop() { echo "[services] s3: not implemented yet" >&2; }
s3_status() { echo "s3: not implemented"; }
