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

# uv installs the same packages in seconds where pip takes about a minute. It does not read pip's
# configuration, so the index, link and constraint settings pip has (its config files and PIP_* variables,
# as `pip config list` shows them) are handed to it, and it picks versions across indexes as pip does.
# pip alone installs when uv cannot be had or fails. Both write each module's bytecode at install
# (pip does by default, uv with --compile-bytecode): where PYTHONDONTWRITEBYTECODE is set, as on many CI
# machines, Python would otherwise compile every module it imports from source in every process, about
# 2 s more for each Locust, demo or analysis process.
uv_options() {  # print uv's options for pip's settings, one per line
    local line key value
    "$VENV/bin/python" -m pip config list 2>/dev/null | while IFS= read -r line; do
        key=${line%%=*} && key=${key##*.} && value=${line#*=} && value=${value#\'} && value=${value%\'}
        case $key in
            index-url | extra-index-url | find-links | constraint)
                for item in $value; do printf -- '--%s\n%s\n' "$key" "$item"; done ;;
            no-index) [[ $value =~ ^(1|true|yes|on)$ ]] && echo --no-index ;;
        esac
    done
}
install() {  # install SPEC into the venv, quietly
    local python="$VENV/bin/python" options
    mapfile -t options < <(uv_options)
    if "$python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: --timeout 15 --retries 1 \
        uv >/dev/null 2>&1 \
        && "$python" -m uv pip install --quiet --python "$python" --index-strategy unsafe-best-match \
            --compile-bytecode "${options[@]}" -e "$1"; then
        return 0
    fi
    echo "swarmgate: uv could not install; installing with pip (about a minute) ..." >&2
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

# swarmgate's own modules are installed in place (editable): their bytecode is written here, again only
# for the files that changed since. A module that does not compile is named, and Python reports it
# again where it is imported.
"$VENV/bin/python" -m compileall -q -j 0 "$SWARMGATE_ROOT"/{swarmgate,analysis,reports,shapes,locustfiles,demo} \
    >&2 || echo "swarmgate: a module above does not compile (its bytecode is not written)" >&2
