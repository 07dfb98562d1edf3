#!/usr/bin/env bash
# Install Debian's Prometheus server for the server-metrics tests when it is missing (idempotent).
# The tests start it themselves on 127.0.0.1 with a temporary configuration; the package's own
# service is never needed (on systems without systemd it is not started).
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "swarmgate: the server-metrics tests need Prometheus at /usr/bin/prometheus; this system has no apt-get, install it by hand" >&2
    exit 2
fi
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "swarmgate: the server-metrics tests need Debian's prometheus package: run 'sudo apt-get install prometheus'" >&2
        exit 2
    fi
fi
echo "swarmgate: installing Debian's prometheus for the server-metrics tests (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null
