#!/usr/bin/env bash
# Run MLflow's own tracking-server and model-registry tests on storekit stores.
#
#   MLFLOW_SOURCE_DIR=/path/to/mlflow scripts/mlflow-own-tests.sh [--store STORE]... [-- pytest args]
#
# MLFLOW_SOURCE_DIR is an MLflow source tree (a git checkout of MLflow or a fork;
# only its tests/ and pyproject.toml are read).  MLflow's test files are MLflow's
# code: they are never copied into this repository, and no source distribution
# of MLflow on the package index carries them, so the tree must be given.
#
# STORE (repeatable; default: storekit-sqlite and mlflow-sqlite, for comparison):
#   storekit-sqlite   MLflow's tests on storekit:sqlite:///<per-test dir>/storekit.db
#   storekit-file     MLflow's tests on storekit:<per-test dir>/storekit-file
#   mlflow-sqlite     the same tests on MLflow's own SQLite store (the baseline)
#
# Runs  tests/tracking/test_rest_tracking.py  and  tests/tracking/test_model_registry.py
# of that tree against the MLflow installed in .venv (never the tree's own mlflow/),
# through the pytest plugin tests/mlflow_own/storekit_db_uri_plugin.py, which
# swaps the URI of MLflow's db_uri fixture and applies the repository's lists
# tests/mlflow_own/exclusions.txt (deselected, a reason each) and
# tests/mlflow_own/storekit-xfail.txt.  JUnit reports and logs go to
# .test-output/mlflow-own/.  Exits non-zero when any run has a failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

stores=()
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --store) stores+=("$2"); shift 2 ;;
    --store=*) stores+=("${1#--store=}"); shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "mlflow-own-tests: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#stores[@]} -gt 0 ] || stores=(storekit-sqlite mlflow-sqlite)

src="${MLFLOW_SOURCE_DIR:-}"
if [ -z "$src" ] || [ ! -f "$src/tests/tracking/test_rest_tracking.py" ] || [ ! -f "$src/tests/conftest.py" ]; then
  cat >&2 <<MSG
mlflow-own-tests: set MLFLOW_SOURCE_DIR to an MLflow source tree holding
tests/conftest.py and tests/tracking/test_rest_tracking.py (got '${src}').
MLflow's release archives on the package index ship without tests/, so a
checkout of MLflow's git repository (or of a fork) is needed, e.g.
  git clone --depth 1 <MLflow's git repository> /tmp/mlflow
  MLFLOW_SOURCE_DIR=/tmp/mlflow scripts/mlflow-own-tests.sh
MSG
  exit 2
fi
src="$(cd "$src" && pwd)"

scripts/bootstrap.sh --all >&2
# What these two test files import beyond MLflow itself (MLflow's test requirements, minimal).
.venv/bin/python -m pip install -q "pytest-asyncio>=0.23" psutil >&2

out="$ROOT/.test-output/mlflow-own"
mkdir -p "$out"
installed=$(.venv/bin/python -c 'import mlflow; print(mlflow.__version__)')
tree=$(sed -n 's/^VERSION = "\(.*\)"/\1/p' "$src/mlflow/version.py" 2>/dev/null || true)
echo "mlflow-own-tests: MLflow ${installed} (installed) with the tests of ${src} (${tree:-version unknown})"

status=0
summary=()
for store in "${stores[@]}"; do
  log="$out/$store.log"
  echo "mlflow-own-tests: running on $store (log: $log)"
  set +e
  (
    cd "$src"
    # The console script, not 'python -m pytest': the tree's own mlflow/ must not shadow
    # the installed one (the plugin refuses to run if it does).
    MLFLOW_SOURCE_DIR="$src" \
    STOREKIT_MLFLOW_OWN_STORE="$store" \
    PYTHONPATH="$ROOT/tests/mlflow_own${PYTHONPATH:+:$PYTHONPATH}" \
    MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK=true \
      "$ROOT/.venv/bin/pytest" \
        --import-mode=append -p storekit_db_uri_plugin -p no:cacheprovider -p no:legacypath \
        -o addopts= -o asyncio_default_fixture_loop_scope=function \
        -q -rfEX --color=no --junitxml="$out/$store.xml" \
        tests/tracking/test_rest_tracking.py tests/tracking/test_model_registry.py \
        ${pytest_args[@]+"${pytest_args[@]}"}
  ) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || status=1
  summary+=("$store: $(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed).* =+$|^[0-9]+ .* in [0-9.]+s' "$log" | tail -1)")
done
echo
echo "mlflow-own-tests: summary (MLflow ${installed}, tests ${tree:-of $src})"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$status"
