#!/usr/bin/env bash
# Create the environment if needed and run every test (unit and integration).
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -x (then one pytest runs them as given).
# Without arguments, in two phases: the test files that measure nothing run as two pytest processes side
# by side (files alternating between them; the logs are printed when both end); then the tests marked
# `timed` (throughput, latency, run-to-run noise) run alone, so nothing else shares the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/bootstrap.sh test
bash tools/install_chromium.sh
bash tools/install_prometheus.sh
pytest=(.venv/bin/python -m pytest)

worst=0
note() {  # note CODE: keep the worst exit code; pytest's 5 (no tests collected) is a failure
    local code=$1
    if [[ $code -eq 5 ]]; then
        echo "run_tests.sh: pytest collected no tests; that is a failure" >&2
        code=1
    fi
    (( code > worst )) && worst=$code
    return 0
}

set +e
if [[ $# -gt 0 ]]; then
    "${pytest[@]}" "$@"
    note $?
    exit $worst
fi

mapfile -t untimed < <(grep -L "pytest.mark.timed" tests/integration/test_*.py)
halves=("tests/unit" "")
for i in "${!untimed[@]}"; do
    halves[$((i % 2))]+=" ${untimed[$i]}"
done
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for side in 0 1; do
    # shellcheck disable=SC2086  # the file list is meant to split into words
    "${pytest[@]}" -m "not timed" ${halves[$side]} > "$logs/$side.log" 2>&1 &
    pids[$side]=$!
done
for side in 0 1; do
    wait "${pids[$side]}"
    code=$?
    cat "$logs/$side.log"
    note $code
done
"${pytest[@]}" -m timed tests/integration
note $?
exit $worst
