#!/bin/sh
# Entry point of `make bench`: every benchmark, each against its
# comparison server in the same run (see bench/README.md):
#   smtp  bench/smtp_ingest.py  devmail vs a throwaway Postfix like the recipe
#   imap  bench/imap_bench.py   devmail vs a throwaway Dovecot on the same Maildir
#   http  bench/http_bench.py   devmail's API vs MailDev on the same messages
#   web   bench/web_bench.py    the web page in headless Chromium, 100,000 messages stored
# `make bench BENCH=smtp` runs one; BENCH_QUICK=1 runs the short versions.
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

which=${BENCH:-smtp imap http web}
status=0
for b in $which; do
    case $b in
    smtp) $SUDO python3 bench/smtp_ingest.py "$@" || status=1 ;;
    imap) python3 bench/imap_bench.py || status=1 ;;
    http) python3 bench/http_bench.py || status=1 ;;
    web) python3 bench/web_bench.py || status=1 ;;
    *) echo "bench: unknown benchmark '$b' (smtp, imap, http, web)" >&2; status=1 ;;
    esac
done
exit $status
