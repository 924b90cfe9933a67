#!/usr/bin/env bash
# Check devmail's IMAP server with Dovecot's imaptest: its scripted tests,
# one by one, then a bounded stress run; prints a summary.
#
#   IMAPTEST=/path/to/imaptest scripts/imaptest.sh
#
# imaptest is not packaged in Debian and this script installs nothing:
# build imaptest yourself and point IMAPTEST at the binary (or put
# "imaptest" on PATH). Not part of `make test`.
#
# Environment:
#   IMAPTEST        imaptest binary (default: imaptest on PATH)
#   IMAPTEST_TESTS  imaptest's scripted tests (its src/tests directory);
#                   default: a "tests" directory next to the binary, as in
#                   an imaptest build tree (src/imaptest, src/tests)
#   IMAPTEST_SECS   length of the stress run in seconds (default 30, 0: none)
#   IMAPTEST_CLIENTS  concurrent stress clients (default 5)
#   DOVECOT_LIBDIR  where libdovecot.so.0 lives when imaptest is linked
#                   against an installed Dovecot (Debian: /usr/lib/dovecot,
#                   used when present and nothing else is set)
#   DEVMAIL_BIN     devmail binary (default build/devmail)
#   KEEP=1          keep the work directory (logs, per-test output)
#
# Exit status: 0 when every scripted test that ran passed, 1 when some
# failed, 2 when the run itself could not be done. Stress-run errors are
# reported, not counted in the status.
set -u

cd "$(dirname "$0")/.." || exit 2
BIN=${DEVMAIL_BIN:-build/devmail}
IMAPTEST=${IMAPTEST:-$(command -v imaptest || true)}
SECS=${IMAPTEST_SECS:-30}
CLIENTS=${IMAPTEST_CLIENTS:-5}
USER_NAME=all@example.com
PASSWORD=password

die() { echo "imaptest.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "$BIN not built (make build/devmail)"
if [ -z "$IMAPTEST" ] || [ ! -x "$IMAPTEST" ]; then die "set IMAPTEST to an imaptest binary"; fi
TESTS=${IMAPTEST_TESTS:-$(dirname "$IMAPTEST")/tests}
[ -f "$TESTS/default.mbox" ] || die "no imaptest scripted tests in $TESTS (set IMAPTEST_TESTS)"
command -v python3 >/dev/null || die "python3 needed"

if [ -n "${DOVECOT_LIBDIR:-}" ]; then
    export LD_LIBRARY_PATH="$DOVECOT_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
elif [ -z "${LD_LIBRARY_PATH:-}" ] && [ -e /usr/lib/dovecot/libdovecot.so.0 ]; then
    export LD_LIBRARY_PATH=/usr/lib/dovecot
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/devmail-imaptest.XXXXXX") || die "mktemp failed"
DEVMAIL_PID=""
IMAPTEST_PID=""
cleanup() {
    [ -n "$IMAPTEST_PID" ] && kill "$IMAPTEST_PID" 2>/dev/null
    if [ -n "$DEVMAIL_PID" ] && kill -0 "$DEVMAIL_PID" 2>/dev/null; then
        kill -TERM "$DEVMAIL_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$DEVMAIL_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DEVMAIL_PID" 2>/dev/null
        wait "$DEVMAIL_PID" 2>/dev/null
    fi
    DEVMAIL_PID=""
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- devmail on free loopback ports ---------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SMTP_PORT=$(free_port)
IMAP_PORT=$(free_port)
printf '@example.com       example.com/all/Maildir/\n' > "$WORK/vmailbox"
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" > "$WORK/passdb"
"$BIN" --data-dir "$WORK/data" --hostname devmail.example.com --domain example.com \
    --recipient-map "$WORK/vmailbox" --passdb "$WORK/passdb" \
    --smtp-listen "127.0.0.1:$SMTP_PORT" --imap-listen "127.0.0.1:$IMAP_PORT" \
    --smtps-listen "" --imaps-listen "" --pop3-listen "" --pop3s-listen "" \
    --http-listen "" --https-listen "" \
    --auth-failure-delay-ms 0 > "$WORK/devmail.log" 2>&1 &
DEVMAIL_PID=$!
python3 - "$IMAP_PORT" "$DEVMAIL_PID" <<'EOF' || { tail -20 "$WORK/devmail.log" >&2; die "devmail did not start"; }
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 15
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF

imap() {  # imap CMD...: run IMAP commands as the test account (CREATE, CAPABILITY)
    python3 - "$IMAP_PORT" "$USER_NAME" "$PASSWORD" "$@" <<'EOF'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
for c in sys.argv[4:]:
    if c == "CAPABILITY":
        print(" ".join(m.capabilities))
    else:
        verb, arg = c.split(" ", 1)
        typ, data = getattr(m, verb.lower())(arg)
        if typ != "OK":
            sys.exit("%s: %s %s" % (c, typ, data))
m.logout()
EOF
}

CAPS=$(imap CAPABILITY) || die "cannot log in to devmail"
echo "devmail on 127.0.0.1:$IMAP_PORT; capabilities after login:"
echo "  $CAPS"
echo

run_imaptest() {  # run_imaptest SECONDS OUTFILE ARGS...: imaptest, bounded, in the background so a signal can stop it
    local limit=$1 out=$2; shift 2
    timeout "$limit" "$IMAPTEST" host=127.0.0.1 port="$IMAP_PORT" user="$USER_NAME" pass="$PASSWORD" "$@" > "$out" 2>&1 &
    IMAPTEST_PID=$!
    wait "$IMAPTEST_PID"
    local rc=$?
    IMAPTEST_PID=""
    return $rc
}

# ---- scripted tests ---------------------------------------------------------
# Each test runs alone from a directory of its own holding the test, its
# .mbox (if any) and default.mbox: imaptest reads a test's messages from the
# directory it was given, so test=FILE does not find default.mbox.
mkdir -p "$WORK/tests" "$WORK/out"
passed=() failed=() skipped=()
for t in "$TESTS"/*; do
    name=$(basename "$t")
    [ -f "$t" ] || continue
    case "$name" in *.mbox) continue ;; esac
    d="$WORK/tests/$name"
    mkdir -p "$d"
    cp "$t" "$TESTS/default.mbox" "$d/"
    [ -f "$t.mbox" ] && cp "$t.mbox" "$d/"
    out="$WORK/out/$name.out"
    run_imaptest 120 "$out" test="$d"
    rc=$?
    # "base protocol: F/N individual commands failed", "extensions: F/N ..."
    counts=$(sed -n 's/^\(base protocol\|extensions\): \([0-9]*\)\/\([0-9]*\) .*/\2 \3/p' "$out" | awk '{f+=$1; n+=$2} END {print f+0, n+0}')
    nfail=${counts% *}; ncmd=${counts#* }
    errs=$(grep -c '^Error:' "$out")
    if [ "$rc" -ne 0 ] && [ "$nfail" = 0 ]; then
        failed+=("$name (imaptest exit $rc: $(grep -m1 -E '^(Fatal|Panic)' "$out"))")
    elif [ "$nfail" != 0 ]; then
        failed+=("$name ($nfail/$ncmd commands)")
    elif [ "$ncmd" = 0 ]; then
        # imaptest runs no command of a test whose "capabilities:" line
        # names something the server does not advertise
        skipped+=("$name ($(sed -n 's/^capabilities: *//p' "$t" | head -1))")
    elif [ "$errs" != 0 ]; then
        passed+=("$name (passed; $errs Error: line(s))")
    else
        passed+=("$name")
    fi
done

echo "== scripted tests: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped (capability not advertised)"
for x in "${failed[@]}"; do echo "  FAIL $x"; done
for x in "${skipped[@]}"; do echo "  skip $x"; done
for x in "${passed[@]}"; do case "$x" in *Error:*) echo "  pass $x" ;; esac; done
echo
if [ "${#failed[@]}" -gt 0 ]; then
    echo "-- first mismatches of each failed test"
    for x in "${failed[@]}"; do
        name=${x%% *}
        echo "[$name]"
        grep -E '^ - (failed|first expanded|best match|Command)' "$WORK/out/$name.out" | head -12 | sed 's/^/  /'
    done
    echo
fi
errors=$(cat "$WORK"/out/*.out | grep '^Error:' | sed -E 's/^Error: [^:]*: //; s/: .*//' | sort | uniq -c | sort -rn)
if [ -n "$errors" ]; then
    echo "-- Error: lines during the scripted tests (by kind)"
    echo "$errors"
    echo
fi

# ---- stress run -------------------------------------------------------------
if [ "$SECS" != 0 ]; then
    # Messages with unique Message-IDs: imaptest's state tracking takes a
    # Message-ID to name one content.
    python3 - > "$WORK/stress.mbox" <<'EOF'
import random
random.seed(1)
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
out = []
for i in range(1, 61):
    day = 1 + i % 28
    hdr = ["From sender%d@example.com  Mon Jan %2d 10:00:00 2024" % (i % 7, day),
           "From: Sender %d <sender%d@example.com>" % (i % 7, i % 7),
           "To: rcpt%d@example.com" % (i % 5),
           "Subject: %smessage %d %s" % ("Re: " if i % 3 == 0 else "", i, random.choice(words)),
           "Date: Mon, %d Jan 2024 10:%02d:00 +0%d00" % (day, i % 60, i % 3),
           "Message-ID: <msg%d.%d@example.com>" % (i, random.randrange(1 << 30))]
    body = [" ".join(random.choice(words) for _ in range(12)) for _ in range(random.randrange(1, 60))]
    if i % 5 == 0:
        hdr += ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b%d"' % i]
        body = ["", "--b%d" % i, "Content-Type: text/plain; charset=us-ascii", ""] + body + \
               ["--b%d" % i, "Content-Type: text/html; charset=us-ascii", "", "<p>%d</p>" % i, "--b%d--" % i]
    out += hdr + [""] + body + [""]
print("\n".join(out))
EOF
    imap "CREATE stress" || die "cannot create the stress mailbox"
    echo "== stress run: $CLIENTS clients, $SECS s, mailbox stress"
    run_imaptest $((SECS + 60)) "$WORK/stress.out" mbox="$WORK/stress.mbox" box=stress clients="$CLIENTS" secs="$SECS"
    rc=$?
    [ "$rc" -ne 0 ] && echo "  imaptest exit status $rc"
    n=$(grep -c '^Error:' "$WORK/stress.out")
    echo "  Error: lines: $n"
    grep '^Error:' "$WORK/stress.out" | sed -E 's/^Error: [^:]*: //; s/^uid=[0-9]+ //; s/: .*//' \
        | sort | uniq -c | sort -rn | head -20 | sed 's/^/  /'
    grep -m5 -E '^(Fatal|Panic)' "$WORK/stress.out" | sed 's/^/  /'
    echo "  totals ($SECS s):"
    sed -n '/^Totals:/,$p' "$WORK/stress.out" | sed 1d | sed 's/^/    /'
    echo
fi

if ! kill -0 "$DEVMAIL_PID" 2>/dev/null; then
    echo "devmail exited during the run; log tail:"
    tail -20 "$WORK/devmail.log"
    exit 2
fi
[ "${#failed[@]}" -eq 0 ]
