#!/usr/bin/env bash
# Run every benchmark workload at its default size against the embedded default
# (a fresh SQLite store and a local artifact directory in a temporary directory)
# and write the figures to benchmarks/results.json.
#
#   scripts/bench.sh                      all workloads, default sizes
#   scripts/bench.sh --workload W1,W2     extra flags go to python -m benchmarks.run
#
# Needs about 1.5 GB of free disk in $TMPDIR (W5) and takes several minutes (W4 at 100,000 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m benchmarks.run --workload all --json benchmarks/results.json "$@"
