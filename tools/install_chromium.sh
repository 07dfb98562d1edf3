#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (idempotent), with a colour emoji
# font: the web UI's live tab marks checks 🟢 🟡 🔴, which a browser without one draws as empty boxes.
# Playwright drives this browser; it never downloads one of its own.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || missing+=(fonts-noto-color-emoji)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "swarmgate: the browser tests need ${missing[*]}; this system has no apt-get, install them by hand" >&2
    exit 2
fi
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "swarmgate: the browser tests need Debian's ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
        exit 2
    fi
fi
echo "swarmgate: installing Debian's ${missing[*]} for the browser tests (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v chromium >/dev/null
