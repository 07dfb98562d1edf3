#!/usr/bin/env bash
# Create the environment if needed and run every test (unit and integration).
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/bootstrap.sh test
bash tools/install_chromium.sh
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [[ $code -eq 5 ]]; then
    echo "run_tests.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit $code
