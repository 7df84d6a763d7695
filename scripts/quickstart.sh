#!/usr/bin/env bash
# The quick start: install storekit, log a real run to the embedded default store
# (SQLite at ./storekit.db, artifacts under ./storekit-artifacts), and show it
# back through the CLI.  No server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
run_id=$(python examples/quickstart.py | tail -n 1)
echo
echo "== storekit runs show $run_id"
storekit runs show "$run_id"
echo
echo "== storekit models list"
storekit models list
