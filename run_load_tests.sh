#!/usr/bin/env bash
# The main job: bootstrap .venv on first use, then hand over to `swarmgate run`.
# With no arguments: start the embedded demo target, run the smoke scenario, print the results path.
# --weekly [...]: the scheduled job (`swarmgate weekly`); --web [...]: the web UI (`swarmgate web`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/bootstrap.sh
case "${1:-}" in
    --weekly) shift; exec .venv/bin/swarmgate weekly "$@" ;;
    --web) shift; exec .venv/bin/swarmgate web "$@" ;;
    *) exec .venv/bin/swarmgate run "$@" ;;
esac
