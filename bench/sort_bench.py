#!/usr/bin/env python3
"""IMAP SORT / THREAD benchmark: devmail against Dovecot on one big INBOX.

Generates a Maildir whose INBOX holds N messages (default 100,000) shaped
like a busy list: 60% reply to an earlier message (References of up to 10
ancestors, In-Reply-To, a "Re:" subject, sometimes a "[list]" tag), Date
headers in several zones, 2% without a Date, 500 senders with display
names. devmail (indexing the Maildir at start, timed) and Dovecot
(bench/imap/dovecot.conf.in, as bench/imap_bench.py runs it) serve copies
of it. One session per server SELECTs INBOX, then runs each command
below once (the first run; Dovecot builds its sort and thread caches
then) and REPEAT more times (median reported), timing from sending the
command until its tagged OK has been read; the table also says whether
the two servers' untagged answers were byte for byte the same:

    SORT (DATE) UTF-8 ALL
    SORT (REVERSE ARRIVAL) UTF-8 ALL
    SORT (SUBJECT) UTF-8 ALL
    SORT (DISPLAYFROM) UTF-8 ALL
    UID SORT (FROM DATE) UTF-8 SINCE 1-Jan-2024
    SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL
    THREAD REFERENCES UTF-8 ALL
    THREAD ORDEREDSUBJECT UTF-8 ALL

The goal (issue 9): SORT (DATE) and THREAD REFERENCES on 100,000 messages
under a second each.

Usage: bench/sort_bench.py [--n N] [--repeat R] [--only devmail|dovecot]
Environment: BENCH_QUICK=1 (10,000 messages), BENCH_N, DEVMAIL (binary,
default build/devmail), BENCH_TMPDIR, BENCH_KEEP=1. Loopback only; every
wait is bounded. Writes the table to stdout and to bench/out/.
"""

import argparse
import datetime
import hashlib
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time

from benchlib import log
from imap_bench import ACCOUNT, DOMAIN, PASSWORD, DevmailServer, DovecotServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT_DIR = os.path.join(HERE, "out")

START_TIMEOUT = 600.0   # seconds for a server to index N messages and answer SELECT
COMMAND_TIMEOUT = 300.0  # one command (Dovecot's first SORT builds its cache)

COMMANDS = [
    "SORT (DATE) UTF-8 ALL",
    "SORT (REVERSE ARRIVAL) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (DISPLAYFROM) UTF-8 ALL",
    "UID SORT (FROM DATE) UTF-8 SINCE 1-Jan-2024",
    "SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
]

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
ZONES = ("+0000", "-0500", "+0100", "+0530", "-0800", "+0900")


def make_maildir(root, n, seed=7):
    """<root>/example.com/all/Maildir: INBOX with n messages in cur/."""
    rnd = random.Random(seed)
    md = os.path.join(root, DOMAIN, "all", "Maildir")
    for folder in ("", ".Sent", ".Drafts", ".Trash", ".Junk"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, folder, sub), exist_ok=True)
    subjects, refs = [], []
    base = 1704067200 - n * 30  # dates spread over the time before 2024
    arrival = int(time.time()) - n
    for i in range(n):
        mid = "m%d.%d@bench.example" % (i, rnd.randrange(1 << 30))
        if i and rnd.random() < 0.6:
            p = rnd.randrange(max(0, i - 2000), i)
            chain = (refs[p] + [subjects[p][1]])[-10:]
            subject = "Re: " + subjects[p][0].split(": ", 1)[-1]
            head_refs = "References: %s\nIn-Reply-To: <%s>\n" % (" ".join("<%s>" % r for r in chain), chain[-1])
        else:
            chain = []
            subject = "%s%s %s %d" % ("[list] " if rnd.random() < 0.2 else "", rnd.choice(WORDS).title(),
                                      rnd.choice(WORDS), i)
            head_refs = ""
        subjects.append((subject, mid))
        refs.append(chain)
        t = base + i * 30 + rnd.randrange(-600, 600)
        zone = rnd.choice(ZONES)
        off = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
        date = "" if rnd.random() < 0.02 else "Date: %s %s\n" % (
            time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(t + off)), zone)
        s = rnd.randrange(500)
        data = (("From: %s %s <user%d@example.net>\nTo: list@example.com\nSubject: %s\n%sMessage-ID: <%s>\n%s"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n%s\n") % (
            rnd.choice(WORDS).title(), rnd.choice(WORDS).title(), s, subject, date, mid, head_refs,
            " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(20, 200))))).encode()
        crlf = len(data) + data.count(b"\n")
        name = "%d.M%dP4343Q%d.benchhost,S=%d,W=%d:2,S" % (arrival + i, i, i, len(data), crlf)
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (arrival + i, arrival + i))


class Session:
    """A raw IMAP session: send a command, read to its tagged reply."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=COMMAND_TIMEOUT)
        self.buf = b""
        self.n = 0
        self._read_line()

    def _read_line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _more(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise RuntimeError("connection closed")
        self.buf += d

    def cmd(self, line):
        """(seconds until the tagged reply, the tagged reply, untagged bytes)."""
        self.n += 1
        tag = b"b%d " % self.n
        t0 = time.perf_counter()
        self.sock.sendall(tag + line.encode() + b"\r\n")
        data = []
        while True:
            r = self._read_line()
            if r.startswith(tag):
                return time.perf_counter() - t0, r.decode("utf-8", "replace"), b"\r\n".join(data)
            data.append(r)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def measure(server, repeat):
    pid = server.start()
    log("%s started (pid %d)" % (server.name, pid))
    try:
        t0 = time.perf_counter()
        s = Session(server.port)
        _, tagged, _ = s.cmd("LOGIN %s %s" % (ACCOUNT, PASSWORD))
        if " OK" not in tagged:
            raise RuntimeError("%s: LOGIN: %s" % (server.name, tagged))
        el, tagged, data = s.cmd("SELECT INBOX")
        if " OK" not in tagged:
            raise RuntimeError("%s: SELECT: %s" % (server.name, tagged))
        exists = int(data.split(b" EXISTS")[0].rsplit(b"* ", 1)[1])
        res = {"select_s": el, "ready_s": time.perf_counter() - t0, "exists": exists, "cmds": {}}
        log("%s: SELECT INBOX %.2f s, %d messages" % (server.name, el, exists))
        for c in COMMANDS:
            times = []
            size = 0
            for k in range(repeat + 1):
                el, tagged, data = s.cmd(c)
                if " OK" not in tagged:
                    raise RuntimeError("%s: %s: %s" % (server.name, c, tagged))
                times.append(el)
                size = len(data)
            res["cmds"][c] = {"first": times[0], "median": statistics.median(times[1:]), "bytes": size,
                              "sha1": hashlib.sha1(data.replace(b"* sort ", b"* SORT ")).hexdigest()}
            log("%s: %-45s first %.3f s, median %.3f s, %d bytes" % (server.name, c, times[0],
                                                                    statistics.median(times[1:]), size))
        s.cmd("LOGOUT")
        s.close()
        return res
    finally:
        server.stop()


def main():
    quick = os.environ.get("BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description="IMAP SORT/THREAD benchmark: devmail vs Dovecot")
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 10000 if quick else 100000)))
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 5)))
    ap.add_argument("--only", choices=("devmail", "dovecot"))
    ap.add_argument("--devmail", default=os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail")))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="devmail-sortbench-", dir=os.environ.get("BENCH_TMPDIR"))
    try:
        src = os.path.join(tmp, "src")
        t0 = time.perf_counter()
        make_maildir(src, args.n)
        log("generated %d messages in %.1f s" % (args.n, time.perf_counter() - t0))
        results = {}
        if args.only != "dovecot":
            results["devmail"] = measure(DevmailServer(args.devmail, tmp, src), args.repeat)
        if args.only != "devmail":
            if shutil.which("dovecot"):
                results["dovecot"] = measure(DovecotServer(tmp, src), args.repeat)
            else:
                log("dovecot not installed: devmail only")
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept " + tmp)
    names = list(results)
    head = "IMAP SORT/THREAD, INBOX of %d messages, %s, load average %.1f, %s" % (
        args.n, platform.node(), os.getloadavg()[0], datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    lines = [head, ""]
    lines.append("%-45s " % "command" + " ".join("%22s" % ("%s first / median" % n) for n in names))
    lines.append("%-45s " % ("SELECT INBOX (after start)") +
                 " ".join("%22s" % ("%.3f s" % results[n]["select_s"]) for n in names))
    for c in COMMANDS:
        lines.append("%-45s " % c + " ".join(
            "%22s" % ("%.3f / %.3f s" % (results[n]["cmds"][c]["first"], results[n]["cmds"][c]["median"]))
            for n in names))
    if len(names) == 2:
        same = [c for c in COMMANDS if results[names[0]]["cmds"][c]["sha1"] == results[names[1]]["cmds"][c]["sha1"]]
        lines.append("")
        lines.append("answers identical to Dovecot's: %d of %d commands%s" % (
            len(same), len(COMMANDS), "" if len(same) == len(COMMANDS) else
            " (differ: %s)" % ", ".join(c for c in COMMANDS if c not in same)))
    out = "\n".join(lines) + "\n"
    sys.stdout.write(out)
    os.makedirs(OUT_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in ("sort_bench-%s.txt" % stamp, "sort_bench-latest.txt"):
        with open(os.path.join(OUT_DIR, name), "w") as f:
            f.write(out)
    goal = results.get("devmail")
    if goal:
        slow = [c for c in ("SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL")
                if goal["cmds"][c]["median"] >= 1.0]
        if slow and args.n >= 100000:
            log("goal missed (under 1 s with 100,000 messages): " + ", ".join(slow))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
