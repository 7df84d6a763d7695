#!/usr/bin/env bash
# The test suite with coverage (scripts/test.sh with pytest-cov), failing below the floor:
#   scripts/coverage.sh [PYTEST ARGS]         branch coverage of storekit, the plugins and the conformance suite,
#                                             the subprocesses the tests start counted ([tool.coverage.run])
# The floor is `floor` in scripts/coverage-floor.toml (the whole suite's figure: `.ci/run` uses this script).
# STOREKIT_COVERAGE_FLOOR=N overrides it for one run (a partial run covers less: STOREKIT_COVERAGE_FLOOR=0).
set -euo pipefail
cd "$(dirname "$0")/.."
floor=${STOREKIT_COVERAGE_FLOOR:-$(sed -n 's/^floor *= *\([0-9.]*\).*/\1/p' scripts/coverage-floor.toml)}
if [ -z "$floor" ]; then
  echo "coverage.sh: no 'floor = N' in scripts/coverage-floor.toml" >&2
  exit 2
fi
data=${COVERAGE_FILE:-.coverage}  # coverage.py's data file ([tool.coverage.run] data_file), one per process
rm -f "$data" "$data".*  # no data of an earlier run is combined into this one
status=0
scripts/test.sh --cov --cov-report=term --cov-fail-under="$floor" "$@" || status=$?
rm -f "$data".*  # the per-process files a killed child left uncombined
exit "$status"
