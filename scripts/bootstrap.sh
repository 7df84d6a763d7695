#!/usr/bin/env bash
# Install storekit into ./.venv for a fresh clone.
#
#   scripts/bootstrap.sh          the core (file + SQLite backends, CLI)
#   scripts/bootstrap.sh --all    plus every built-in plugin, the conformance suite,
#                                 the database drivers and the test tools
#
# Idempotent: a stamp records what was installed, so a second run is fast.
# Needs: python3 (>= 3.10) with venv.  Test servers (sshd, Azurite, moto) are
# installed by scripts/services/*.sh when the tests first need them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=core
[ "${1:-}" = "--all" ] && mode=all

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "bootstrap: python3 not found; install Python >= 3.10 first" >&2
  exit 1
fi
"$PY" - <<'PYCHECK' || { echo "bootstrap: storekit needs Python >= 3.10" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PYCHECK

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv || {
    echo "bootstrap: 'python3 -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 1
  }
fi

pkgs=(-e .)
if [ "$mode" = all ]; then
  pkgs=(-e ".[all,test]" -e conformance)
  for p in plugins/*/; do
    [ -f "$p/pyproject.toml" ] && pkgs+=(-e "$p")
  done
  pkgs+=("moto[server]>=5" "pytest-xdist")
fi

# Re-install only when a pyproject.toml changed since the last install of this mode.
stamp=.venv/.storekit-bootstrap-$mode
digest=$(cat pyproject.toml $( [ "$mode" = all ] && ls conformance/pyproject.toml plugins/*/pyproject.toml 2>/dev/null) | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  echo "bootstrap: .venv is up to date ($mode)"
  exit 0
fi

echo "bootstrap: installing storekit ($mode) into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${pkgs[@]}"
echo "$digest" > "$stamp"
echo "bootstrap: done"
