# spark: a local Spark Connect server, Sail (PyPI `pysail`, a Rust engine: no JVM).
#   start [--port N] [--mode local|local-cluster] [--workers N]
#     --port      default: a free port on 127.0.0.1
#     --mode      local-cluster (default, TRUST_SPARK_MODE): a driver and workers (in one process, talking over
#                 RPC), the shape of a real cluster; the dbt project works around its one bug here
#                 (spark__create_table_as, dbt_project/macros/cross_db/relations.sql). local: one process,
#                 parallel over the cores.
#     --workers   local-cluster workers (default 2, TRUST_SPARK_WORKERS), each with TRUST_SPARK_TASK_SLOTS task
#                 slots (default 64: Sail's 8 cannot hold the pipelined stages of the district-code walk,
#                 "required maximum is 16 given a maximum of 2 workers with 8 task slots per worker")
# The last line printed by start is the sc:// URL (`trust run --engine spark --spark-remote <url>`).
# Sail comes with the project's `spark` extra (pyproject.toml, pinned in constraints.txt); it is installed into
# .venv when missing, like every other dependency.

spark_dir() { echo "$TRUST_SERVICES_DIR/spark"; }

spark_binary() {
  local sail="$root/.venv/bin/sail"
  if [ ! -x "$sail" ]; then
    echo "[services] spark: installing the project's spark extra into .venv" >&2
    "$root/.venv/bin/python" -m pip install --quiet -c "$root/constraints.txt" -e "$root[spark]" >&2 || return 1
  fi
  echo "$sail"
}

spark_start() {
  local port="" mode="${TRUST_SPARK_MODE:-local-cluster}" workers="${TRUST_SPARK_WORKERS:-2}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=$2; shift 2 ;;
      --mode) mode=$2; shift 2 ;;
      --workers) workers=$2; shift 2 ;;
      *) echo "[services] spark: unknown option $1 (known: --port N, --mode local|local-cluster, --workers N)" >&2
         return 2 ;;
    esac
  done
  case "$mode" in local|local-cluster) ;; *) echo "[services] spark: --mode is local or local-cluster" >&2; return 2 ;; esac
  local dir; dir=$(spark_dir); mkdir -p "$dir"
  if pid_alive "$dir/pid"; then
    echo "[services] spark already running (pid $(cat "$dir/pid"))" >&2
    cat "$dir/url"; return 0
  fi
  local sail; sail=$(spark_binary) || { echo "[services] spark: cannot install pysail" >&2; return 1; }
  [ -n "$port" ] || port=$(PYTHON="$root/.venv/bin/python" free_port)
  # local-cluster: a driver plus workers on this machine, the same shape as a real cluster. Workers listen on
  # 127.0.0.1 too; their ports are chosen by the driver.
  SAIL_MODE="$mode" \
  SAIL_CLUSTER__WORKER_INITIAL_COUNT="$workers" \
  SAIL_CLUSTER__WORKER_MAX_COUNT="$workers" \
  SAIL_CLUSTER__WORKER_TASK_SLOTS="${TRUST_SPARK_TASK_SLOTS:-64}" \
  SAIL_CLUSTER__DRIVER_LISTEN_HOST=127.0.0.1 \
  SAIL_CLUSTER__WORKER_LISTEN_HOST=127.0.0.1 \
  RUST_LOG="${RUST_LOG:-warn}" \
    nohup "$sail" spark server --ip 127.0.0.1 --port "$port" >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "sc://127.0.0.1:$port" >"$dir/url"
  # Bounded: Sail answers in under 3 s here; 60 s allows for a loaded machine.
  if ! wait_for 60 spark_answers "$port"; then
    echo "[services] spark did not answer on 127.0.0.1:$port within 60 s; log: $dir/server.log" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    stop_pid spark "$dir/pid"
    return 1
  fi
  [ "$mode" = local ] || mode="$mode, $workers workers"
  echo "[services] spark (Sail $mode) on 127.0.0.1:$port, log $dir/server.log" >&2
  cat "$dir/url"
}

# The server answers a Spark Connect query (not merely accepts TCP connections).
spark_answers() {
  "$root/.venv/bin/python" "$root/scripts/services/spark_ping.py" "sc://127.0.0.1:$1"
}

spark_stop() {
  stop_pid spark "$(spark_dir)/pid"
  rm -f "$(spark_dir)/url"
}

spark_status() {
  if pid_alive "$(spark_dir)/pid"; then
    echo "spark: running (pid $(cat "$(spark_dir)/pid")) at $(cat "$(spark_dir)/url")"
  else
    echo "spark: stopped"
  fi
}
