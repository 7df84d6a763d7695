#!/usr/bin/env bash
# Test server: moto's S3-compatible HTTP server, run from the project's venv.
#
#   bash scripts/services/moto.sh start   # idempotent; prints the connection settings
#   bash scripts/services/moto.sh stop
#   bash scripts/services/moto.sh status
#
# The pid file and log live under .services/moto/ of the repository.  moto keeps
# its state in memory: a restart starts empty (tests reset it with
# POST /moto-api/reset between tests).
#
# Printed on start (KEY=VALUE, one a line):
#   STOREKIT_TEST_S3_ENDPOINT   http://127.0.0.1:PORT
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION   dummy test values
#
# Environment: STOREKIT_MOTO_PORT (default 45555), STOREKIT_PYTHON (default .venv/bin/python).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME=moto
DIR="$ROOT/.services/moto"
PORT_VAR=STOREKIT_MOTO_PORT
PORT="${STOREKIT_MOTO_PORT:-45555}"
HOST=127.0.0.1
PY="${STOREKIT_PYTHON:-$ROOT/.venv/bin/python}"
PIDFILE="$DIR/moto.pid"
LOG="$DIR/moto.log"
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

answers() {
  "$PY" - "$HOST" "$PORT" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/moto-api/", timeout=2).read(1)
PYEOF
}

print_settings() {
  echo "STOREKIT_TEST_S3_ENDPOINT=http://$HOST:$PORT"
  echo "AWS_ACCESS_KEY_ID=storekit-test-key"
  echo "AWS_SECRET_ACCESS_KEY=storekit-test-secret"
  echo "AWS_DEFAULT_REGION=us-east-1"
}

start() {
  [ -x "$PY" ] || die "no Python at $PY (run scripts/bootstrap.sh --all first)"
  "$PY" -c "import moto.server" 2>/dev/null || die "moto's server is not installed in $PY: pip install 'moto[server]'"
  service_start "$PY" -m moto.server -H "$HOST" -p "$PORT"
}

service_main "$@"
