# Helpers shared by the service scripts (sourced by scripts/services.sh).

# A free TCP port on 127.0.0.1.
free_port() {
  "${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS COMMAND...: run COMMAND until it succeeds, at most SECONDS seconds (bounded, never forever).
wait_for() {
  local limit=$1; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# pid_alive FILE: the pid in FILE is a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid NAME FILE: stop the process in FILE (TERM, then KILL after 10 s) and remove FILE.
stop_pid() {
  local name=$1 file=$2
  if pid_alive "$file"; then
    local pid; pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    echo "[services] $name stopped (pid $pid)" >&2
  else
    echo "[services] $name is not running" >&2
  fi
  rm -f "$file"
}
