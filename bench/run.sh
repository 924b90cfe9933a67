#!/bin/sh
# Entry point of `make bench`: the SMTP ingest benchmark, devmail against a
# throwaway Postfix configured like the recipe. See bench/README.md.
# Options are passed to bench/smtp_ingest.py (--n N, --quick, --only NAME);
# BENCH_QUICK=1 runs the short version.
set -eu
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    # Postfix's master must start as root.
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -E"
    else
        echo "bench: must run as root (Postfix's master runs as root)" >&2
        exit 1
    fi
fi

# Postfix (for smtp-source and the comparison instance) and python3 come
# with the test dependencies.
if ! command -v smtp-source >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
    sh scripts/deps.sh test
fi

exec $SUDO python3 bench/smtp_ingest.py "$@"
