#!/usr/bin/env bash
# The whole test suite: installs everything (Python packages, and through
# scripts/services/*.sh the test servers: OpenSSH sshd, Azurite, moto; Debian's
# Chromium for the web-UI tests through scripts/install-chromium.sh; it checks
# PostgreSQL and MariaDB and starts them where installed but stopped), runs
# pytest, and stops the servers it started.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --all
# Debian's Chromium for the web-UI tests (tests/mlflow_ui); idempotent.
scripts/install-chromium.sh >/dev/null
export PATH="$PWD/.venv/bin:$PATH"
status=0
python -m pytest -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
fi
exit "$status"
