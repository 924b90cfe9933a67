#!/bin/sh
# Install the Debian packages devmail needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Usage: scripts/deps.sh [build|test]
set -e
# libjs-highlight.js: highlight.min.js, embedded into the page for the source views
# shared-mime-info: the MIME database GIO guesses attachment types from (Send API)
# libical-dev, libical3 (its runtime library): the invitation summary of .ics parts
BUILD="make gcc python3 clang pkg-config libevent-dev libssl-dev libsqlite3-dev libgmime-3.0-dev libcjson-dev libcrypt-dev libgdk-pixbuf-2.0-dev libgumbo-dev libical-dev libical3 openssl shared-mime-info libjs-highlight.js"
TEST="libcmocka-dev libclang-rt-14-dev python3 swaks libnet-ssleay-perl libio-socket-inet6-perl ca-certificates curl isync netcat-openbsd postfix dovecot-imapd dovecot-pop3d fetchmail procps chromium spamassassin spamd thunderbird libnss3-tools"
want="$BUILD"
[ "$1" = "test" ] && want="$BUILD $TEST"
# Node.js runs the npm clients of the browser and API tests; use the
# machine's own if it has one, else Debian's.
if [ "$1" = "test" ] && ! command -v node >/dev/null 2>&1; then
    want="$want nodejs npm"
fi
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; "No configuration" keeps it inert
# (tests start their own instance on loopback with their own config).
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian starts the daemons it installs; devmail's tests run their own.
for s in postfix dovecot spamd; do
    $SUDO service "$s" stop >/dev/null 2>&1 || true
done
