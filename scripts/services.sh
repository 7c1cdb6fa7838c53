#!/usr/bin/env bash
# Local services the tests (and a trial deployment) use, started by the project, never by hand:
#   bash scripts/services.sh start  spark|s3|postgres [options]   start one, wait until it answers, print how to reach it
#   bash scripts/services.sh stop   spark|s3|postgres|all
#   bash scripts/services.sh status [spark|s3|postgres]
# Every server listens on 127.0.0.1 only. State (data, logs, pid files) lives under $TRUST_SERVICES_DIR
# (default: .services/ in this checkout, git-ignored). Each service is one file in scripts/services/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRUST_SERVICES_DIR="${TRUST_SERVICES_DIR:-$root/.services}"
services=(spark s3 postgres)

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# shellcheck source=scripts/services/common.sh
source "$root/scripts/services/common.sh"

cmd="${1:-}"; [ -n "$cmd" ] || usage; shift
case "$cmd" in
  start|stop|status) ;;
  *) usage ;;
esac
targets=()
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  if [ "$1" = all ]; then targets=("${services[@]}"); else targets=("$1"); fi
  shift
elif [ "$cmd" = start ]; then
  usage
else
  targets=("${services[@]}")
fi
for svc in "${targets[@]}"; do
  [ -f "$root/scripts/services/$svc.sh" ] || { echo "unknown service: $svc (known: ${services[*]})" >&2; exit 2; }
  # shellcheck disable=SC1090
  source "$root/scripts/services/$svc.sh"
  "${svc}_${cmd}" "$@"
done
