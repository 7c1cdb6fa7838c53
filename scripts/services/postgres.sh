# postgres: Debian's PostgreSQL 15 on 127.0.0.1, in a data folder of its own (not the system's cluster).
#   start [--port N]    N defaults to a free port; prints postgresql://trust:<password>@127.0.0.1:N/dagster last
# The URL is what TRUST_DAGSTER_POSTGRES_URL takes (the production Dagster instance, docs/deployment.md).
# The package is installed when missing and we may (root, or passwordless sudo). PostgreSQL refuses to run as
# root, so as root the server runs as Debian's `postgres` user. Only TCP on 127.0.0.1 (no Unix socket), password
# (scram-sha-256) authentication; the generated password is kept 0600 beside the data.

postgres_dir() { echo "$TRUST_SERVICES_DIR/postgres"; }

postgres_bin() {
  local bin
  for bin in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$bin/pg_ctl" ] && { echo "$bin"; return 0; }
  done
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || { echo "[services] postgres: PostgreSQL is not installed and cannot be (not root)" >&2; return 1; }
    sudo="sudo -n"
  fi
  echo "[services] postgres: installing Debian's postgresql-15" >&2
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >/dev/null 2>&1 \
    || { echo "[services] postgres: apt-get install postgresql-15 failed" >&2; return 1; }
  [ -x /usr/lib/postgresql/15/bin/pg_ctl ] && echo /usr/lib/postgresql/15/bin
}

# as_owner CMD...: run CMD as the user that owns the data folder (postgres when we are root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  local port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=$2; shift 2 ;;
      *) echo "[services] postgres: unknown option $1 (known: --port N)" >&2; return 2 ;;
    esac
  done
  local dir; dir=$(postgres_dir); mkdir -p "$dir"
  # as root the postgres user must traverse it (data/ and password inside stay private); a caller's umask 077
  # (the trust sets one) would otherwise make it 0700
  [ "$(id -u)" = 0 ] && chmod 755 "$dir"
  if [ -f "$dir/url" ] && [ -f "$dir/data/postmaster.pid" ] \
     && as_owner "$(postgres_bin)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "[services] postgres already running" >&2; cat "$dir/url"; return 0
  fi
  local bin; bin=$(postgres_bin) || return 1
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    echo "[services] postgres: the postgres user cannot reach $dir (set TRUST_SERVICES_DIR to a folder it can)" >&2
    return 1
  fi
  [ -n "$port" ] || port=$(free_port)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"; mkdir -p "$dir/data"
    ( umask 077; "${PYTHON:-python3}" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$dir/password" )
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir/data" "$dir/password"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U trust --pwfile="$dir/password" --auth-host=scram-sha-256 \
      --auth-local=reject --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { echo "[services] postgres: initdb failed; log: $dir/initdb.log" >&2; tail -n 5 "$dir/initdb.log" >&2; return 1; }
  fi
  : >"$dir/server.log"; [ "$(id -u)" = 0 ] && chown postgres: "$dir/server.log"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=''" start >/dev/null \
    || { echo "[services] postgres did not start within 60 s; log: $dir/server.log" >&2; tail -n 20 "$dir/server.log" >&2; return 1; }
  local password; password=$(cat "$dir/password")
  if ! wait_for 30 env PGPASSWORD="$password" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U trust -d postgres; then
    echo "[services] postgres does not answer on 127.0.0.1:$port" >&2; postgres_stop; return 1
  fi
  PGPASSWORD="$password" "$bin/psql" -q -h 127.0.0.1 -p "$port" -U trust -d postgres -tAc \
    "select 1 from pg_database where datname = 'dagster'" | grep -q 1 \
    || PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U trust dagster
  echo "$port" >"$dir/port"
  ( umask 077; echo "postgresql://trust:$password@127.0.0.1:$port/dagster" >"$dir/url" )
  echo "[services] postgres (PostgreSQL $(cat "$dir/data/PG_VERSION")) on 127.0.0.1:$port, data $dir/data" >&2
  cat "$dir/url"
}

postgres_stop() {
  local dir; dir=$(postgres_dir)
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(postgres_bin 2>/dev/null) \
     && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null \
      && echo "[services] postgres stopped" >&2
  else
    echo "[services] postgres is not running" >&2
  fi
  rm -f "$dir/url"
}

postgres_status() {
  local dir bin; dir=$(postgres_dir)
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(postgres_bin 2>/dev/null) \
     && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    # the URL (with its generated password) is in a 0600 file, not echoed: status output ends up in logs
    echo "postgres: running on 127.0.0.1:$(cat "$dir/port" 2>/dev/null); URL in $dir/url"
  else
    echo "postgres: stopped"
  fi
}
