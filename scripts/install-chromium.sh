#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the web-UI tests (tests/mlflow_ui).
#
#   scripts/install-chromium.sh        # idempotent: does nothing when it is installed
#
# Uses the distribution's own package (apt-get, needs root); no test tool ever
# downloads a browser build of its own.  Prints the browser's path on success.
# Environment: STOREKIT_CHROMIUM (a browser binary to use instead; checked only).
set -euo pipefail

find_chromium() {
  local candidate
  for candidate in "${STOREKIT_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if path=$(find_chromium); then
  echo "$path"
  exit 0
fi
if [ -n "${STOREKIT_CHROMIUM:-}" ]; then
  echo "install-chromium: STOREKIT_CHROMIUM=$STOREKIT_CHROMIUM is not an executable" >&2
  exit 1
fi
[ "$(id -u)" = 0 ] || { echo "install-chromium: chromium is missing and installing it needs root (apt-get install chromium)" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "install-chromium: chromium is missing and apt-get is not available" >&2; exit 1; }
echo "install-chromium: installing Debian's chromium with apt-get" >&2
# A lock held by another apt-get (a parallel bootstrap) is waited for, not an error.
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update -qq >&2 || { echo "install-chromium: apt-get update failed" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
  chromium fonts-liberation >&2 || { echo "install-chromium: apt-get install chromium failed" >&2; exit 1; }
find_chromium || { echo "install-chromium: chromium installed but no binary found" >&2; exit 1; }
