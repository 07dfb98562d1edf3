#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (idempotent), with a colour emoji
# font: the web UI's live tab marks checks 🟢 🟡 🔴, which a browser without one draws as empty boxes.
# Playwright drives this browser; it never downloads one of its own.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/install_debian.sh" chromium chromium "the browser tests"
exec bash "$here/install_debian.sh" /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf fonts-noto-color-emoji \
    "the web UI's live tab (its pass/warn/fail marks)"
