#!/usr/bin/env bash
# Create the environment if needed and run every test (unit and integration).
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -x
# Two phases: the tests that measure nothing run two at a time (pytest-xdist, a test file per worker);
# then the `timed` ones (throughput, latency, run-to-run noise) run alone, so nothing else shares the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/bootstrap.sh test
bash tools/install_chromium.sh
set +e
.venv/bin/python -m pytest -m "not timed" -n 2 --dist loadfile "$@"
shared=$?
.venv/bin/python -m pytest -m timed "$@"
alone=$?
set -e
if [[ $shared -eq 5 && $alone -eq 5 ]]; then
    echo "run_tests.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
# a phase that selected no tests (exit 5) is fine when the other ran some
[[ $shared -eq 5 ]] && shared=0
[[ $alone -eq 5 ]] && alone=0
exit $(( shared > alone ? shared : alone ))
