# Shared by the test-server scripts in this folder (sourced, not run).
#
# A script sets NAME, DIR, HOST, PORT, PORT_VAR (the variable that overrides the
# port), PIDFILE and LOG, defines `answers` (exit 0 when the server responds) and
# `print_settings` (the KEY=VALUE lines), and its own `start`, which prepares
# whatever the server needs and calls `service_start COMMAND ARGS...`.  Then it
# ends with `service_main "$@"`.

die() { echo "$NAME.sh: $*" >&2; exit 1; }

# The pid of the running server, from the pid file; fails when none runs.
server_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Start COMMAND in the background (idempotent) and wait until it answers.
service_start() {
  mkdir -p "$DIR"
  if server_pid >/dev/null && answers; then
    print_settings
    return 0
  fi
  rm -f "$PIDFILE"
  nohup "$@" >"$LOG" 2>&1 </dev/null &
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
  die "$NAME did not answer on $HOST:$PORT (port taken? set $PORT_VAR); see $LOG"
}

# Stop the server: TERM, then KILL after five seconds.
service_stop() {
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

service_main() {
  case "${1:-}" in
    start) start ;;
    stop) declare -F stop >/dev/null && stop || service_stop ;;
    status) if server_pid >/dev/null && answers; then echo running; else echo stopped; exit 1; fi ;;
    *) die "usage: $0 start|stop|status" ;;
  esac
}
