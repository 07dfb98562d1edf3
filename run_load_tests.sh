#!/usr/bin/env bash
# The main job: bootstrap .venv on first use, then hand over to `swarmgate run`.
# With no arguments: start the embedded demo target, run the smoke scenario, print the results path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/bootstrap.sh
exec .venv/bin/swarmgate run "$@"
