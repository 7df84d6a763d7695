#!/usr/bin/env bash
# Test server: Azurite (the Azure Storage emulator), blob service only.
#
#   bash scripts/services/azurite.sh start   # idempotent; installs Azurite on first use
#   bash scripts/services/azurite.sh stop
#   bash scripts/services/azurite.sh status
#
# Azurite is installed from npm into .services/azurite/ (npm install --prefix),
# and keeps its data, pid file and log there too.  Needs node and npm.
# Azurite has no ADLS Gen2 (dfs) endpoint: abfss:// URIs are tested through the
# blob API.
#
# Printed on start (KEY=VALUE, one a line):
#   STOREKIT_TEST_AZURE_CONNECTION_STRING   the well-known devstoreaccount1 connection
#                                           string pointing at http://127.0.0.1:PORT
#   STOREKIT_TEST_AZURE_ENDPOINT            http://127.0.0.1:PORT/devstoreaccount1
#
# Environment: STOREKIT_AZURITE_PORT (default 45610).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME=azurite
DIR="$ROOT/.services/azurite"
PORT_VAR=STOREKIT_AZURITE_PORT
PORT="${STOREKIT_AZURITE_PORT:-45610}"
HOST=127.0.0.1
VERSION=3.35.0
BIN="$DIR/node_modules/.bin/azurite-blob"
PIDFILE="$DIR/azurite.pid"
LOG="$DIR/azurite.log"
# Azurite's published, well-known development account (not a secret).
ACCOUNT=devstoreaccount1
ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_azurite() {
  [ -x "$BIN" ] && return 0
  command -v node >/dev/null || die "node is not installed (Azurite needs Node.js)"
  command -v npm >/dev/null || die "npm is not installed (needed to install Azurite)"
  mkdir -p "$DIR"
  echo "installing azurite@$VERSION into $DIR" >&2
  npm install --silent --no-audit --no-fund --prefix "$DIR" "azurite@$VERSION" >&2 \
    || die "npm install azurite@$VERSION failed"
  [ -x "$BIN" ] || die "azurite installed but $BIN is missing"
}

answers() {
  # any HTTP answer (Azurite replies 400 to an unsigned request) means it is up
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -c 5 <&3" \
    2>/dev/null | grep -q '^HTTP'
}

print_settings() {
  echo "STOREKIT_TEST_AZURE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=http://$HOST:$PORT/$ACCOUNT;"
  echo "STOREKIT_TEST_AZURE_ENDPOINT=http://$HOST:$PORT/$ACCOUNT"
}

start() {
  install_azurite
  mkdir -p "$DIR/data"
  service_start "$BIN" --blobHost "$HOST" --blobPort "$PORT" --skipApiVersionCheck --loose \
    --disableTelemetry --location "$DIR/data"
}

service_main "$@"
