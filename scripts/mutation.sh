#!/usr/bin/env bash
# Mutation testing (mutmut) of the rules layer, the search compilers, paging, artifact
# path checks and redaction, module by module, each with its own fast test selection:
#   scripts/mutation.sh                   every module, with the score of each
#   scripts/mutation.sh paging redaction  named modules (or source paths: storekit/paging.py)
#   scripts/mutation.sh --changed [BASE]  the modules a change touches (BASE: origin/main, else main)
#   scripts/mutation.sh --check ...       exit 1 when a score is below its floor (scripts/mutation-floors.toml)
#   scripts/mutation.sh --survivors ...   print every surviving mutant's diff
#   scripts/mutation.sh --last ...        report the last run (.mutation/<module>/) without running
# Modules and their tests: [tool.storekit-mutation.modules] in pyproject.toml. At most
# STOREKIT_MUTATION_JOBS (default 2) mutants run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --all >/dev/null
exec .venv/bin/python scripts/mutation.py "$@"
