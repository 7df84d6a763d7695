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
DIR="$ROOT/.services/moto"
PORT="${STOREKIT_MOTO_PORT:-45555}"
HOST=127.0.0.1
PY="${STOREKIT_PYTHON:-$ROOT/.venv/bin/python}"
PIDFILE="$DIR/moto.pid"
LOG="$DIR/moto.log"

die() { echo "moto.sh: $*" >&2; exit 1; }

server_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

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
  [ -x "$PY" ] || die "no Python at $PY (create the venv: python -m venv .venv; pip install -e '.[test]' 'moto[server]')"
  "$PY" -c "import moto.server" 2>/dev/null || die "moto's server is not installed in $PY: pip install 'moto[server]'"
  mkdir -p "$DIR"
  if server_pid >/dev/null && answers; then
    print_settings
    return 0
  fi
  rm -f "$PIDFILE"
  nohup "$PY" -m moto.server -H "$HOST" -p "$PORT" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 150); do
    if answers; then
      print_settings
      return 0
    fi
    server_pid >/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$LOG" >&2 || true
  die "moto did not answer on $HOST:$PORT (port taken? set STOREKIT_MOTO_PORT); see $LOG"
}

stop() {
  local pid
  pid="$(server_pid)" || { rm -f "$PIDFILE"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if server_pid >/dev/null && answers; then echo running; else echo stopped; exit 1; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
