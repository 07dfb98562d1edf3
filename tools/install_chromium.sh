#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (idempotent).
# Playwright drives this browser; it never downloads one of its own.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "swarmgate: the browser tests need Chromium at /usr/bin/chromium; this system has no apt-get, install it by hand" >&2
    exit 2
fi
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "swarmgate: the browser tests need Debian's chromium package: run 'sudo apt-get install chromium'" >&2
        exit 2
    fi
fi
echo "swarmgate: installing Debian's chromium for the browser tests (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
