#!/usr/bin/env bash
# Create or refresh .venv for swarmgate. Sourced by run_load_tests.sh and run_tests.sh.
# Idempotent: reinstalls only when pyproject.toml (or the requested extras) changed.
set -euo pipefail

SWARMGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$SWARMGATE_ROOT/.venv"
EXTRAS="${1:-}"

python_bin="${PYTHON:-python3}"
if ! command -v "$python_bin" >/dev/null 2>&1; then
    echo "swarmgate: $python_bin not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)" >&2
    exit 2
fi

stamp_value="$(sha256sum < "$SWARMGATE_ROOT/pyproject.toml" | cut -c1-16)"
stamp_file="$VENV/.swarmgate-installed${EXTRAS:+-$EXTRAS}"
# An install with extras also satisfies a plain one.
if [[ -z "$EXTRAS" ]] && [[ -f "$VENV/.swarmgate-installed-test" ]] \
    && [[ "$(cat "$VENV/.swarmgate-installed-test")" == "$stamp_value" ]]; then
    stamp_file="$VENV/.swarmgate-installed-test"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "swarmgate: creating the virtual environment in .venv (first run only) ..." >&2
    "$python_bin" -m venv "$VENV"
fi

# uv installs the same packages in seconds where pip takes about a minute; pip is used when uv cannot be had,
# fails, or pip is pointed at an index of its own (uv does not read pip's configuration).
install() {  # install SPEC into the venv, quietly
    local python="$VENV/bin/python"
    if [[ -z "${PIP_INDEX_URL:-}" ]] && ! "$python" -m pip config list 2>/dev/null | grep -q "\.index-url=" \
        && "$python" -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1 \
        && "$python" -m uv pip install --quiet --python "$python" -e "$1"; then
        return 0
    fi
    # Drop only pip's notes about index folders this machine's pip config names but lacks.
    "$python" -m pip install --quiet --disable-pip-version-check -e "$1" 2>&1 \
        | { grep -v "^WARNING: Location 'file:.*is ignored" || true; } >&2
}

if [[ ! -f "$stamp_file" ]] || [[ "$(cat "$stamp_file")" != "$stamp_value" ]]; then
    echo "swarmgate: installing dependencies into .venv (once) ..." >&2
    spec="$SWARMGATE_ROOT"
    [[ -n "$EXTRAS" ]] && spec="$SWARMGATE_ROOT[$EXTRAS]"
    install "$spec"
    echo "$stamp_value" > "$stamp_file"
fi
