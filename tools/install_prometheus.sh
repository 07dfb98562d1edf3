#!/usr/bin/env bash
# Install Debian's Prometheus server for the server-metrics tests when it is missing (idempotent).
# The tests start it themselves on 127.0.0.1 with a temporary configuration; the package's own
# service is never needed (on systems without systemd it is not started).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/install_debian.sh" prometheus prometheus "the server-metrics tests"
