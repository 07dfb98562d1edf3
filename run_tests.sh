#!/usr/bin/env bash
# Create the environment if needed and run every test (unit and integration).
# Extra arguments go to pytest, e.g. ./run_tests.sh tests/unit -x (then one pytest runs them as given).
# Without arguments, in two phases: the test files that measure nothing run in three workers side by side,
# each taking the next file (or tests/unit) from a queue when it is free (the logs are printed when all
# end); then the tests marked `timed` (throughput, latency, run-to-run noise) run alone, so nothing else
# shares the machine.
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

# The untimed work as a queue that the workers take from, one item (tests/unit, or one integration file)
# at a time: whichever is free takes the next, so they end about together. Larger files first: they tend
# to run longer.
queue=$(mktemp -d)
trap 'rm -rf "$queue"' EXIT
{
    echo tests/unit
    grep -L "pytest.mark.timed" tests/integration/test_*.py | xargs wc -c | grep -v " total$" | sort -rn \
        | awk '{print $2}'
} > "$queue/items"
take() {  # print the next item and drop it from the queue (one worker at a time)
    flock 9
    head -n 1 "$queue/items"
    sed -i 1d "$queue/items"
} 9> "$queue/lock"
worker() {
    local side=$1 item began
    while item=$(take) && [[ -n $item ]]; do
        began=$SECONDS
        "${pytest[@]}" -m "not timed" "$item" >> "$queue/$side.log" 2>&1
        echo $? >> "$queue/codes.$side"
        echo "run_tests.sh: $item took $((SECONDS - began)) s" >> "$queue/times"
    done
}
workers=3  # most integration tests wait on time-scaled runs more than they compute: three keep two cores busy
worker_pids=()
for ((side = 0; side < workers; side++)); do
    touch "$queue/codes.$side" "$queue/$side.log"
    worker "$side" &
    worker_pids+=($!)
done
wait "${worker_pids[@]}"
for ((side = 0; side < workers; side++)); do
    cat "$queue/$side.log"
    while read -r code; do note "$code"; done < "$queue/codes.$side"
done
echo "run_tests.sh: the untimed items that took longest:"
sort -t' ' -k4 -rn "$queue/times" | head -n 6
"${pytest[@]}" -m timed --durations=10 tests/integration
note $?
exit $worst
