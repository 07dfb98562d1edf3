#!/usr/bin/env bash
# Install a Debian package a group of tests needs when its command (or, given an absolute path, its
# file) is missing (idempotent).
# Usage: tools/install_debian.sh COMMAND-OR-/PATH PACKAGE WHAT-NEEDS-IT
set -euo pipefail

command_name=$1 package=$2 purpose=$3
present() {
    if [[ $command_name == /* ]]; then [[ -e $command_name ]]; else command -v "$command_name" >/dev/null 2>&1; fi
}
if present; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "swarmgate: $purpose need Debian's $package ($command_name); this system has no apt-get, install it by hand" >&2
    exit 2
fi
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "swarmgate: $purpose need Debian's $package package: run 'sudo apt-get install $package'" >&2
        exit 2
    fi
fi
echo "swarmgate: installing Debian's $package for $purpose (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null
present
