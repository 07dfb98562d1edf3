#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing (idempotent).
# Playwright drives this browser; it never downloads one of its own.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install_debian.sh" chromium chromium "the browser tests"
