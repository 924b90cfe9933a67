#!/usr/bin/env python3
"""Waiting API requests against SMTP intake.

Every `GET /api/v1/search?query=...&wait=300s` is matched against each new
message, so many waiters could slow mail intake down. For W = 0, 100 and
1,000 waiters (each with its own query that never matches, as parallel CI
jobs waiting for their own recipient would hold), a fresh devmail gets N
messages from 4 parallel SMTP sessions; the figure is messages per second
from the first MAIL to the last message listed by the API, and the ratio
to the run without waiters (same binary, same run). The target is under
10 % loss at 1,000 waiters.

Intake on this 2-core box varies by 10-20 % between two identical runs,
so the counts are measured --rounds times, interleaved (0, 100, 1000, 0,
100, 1000, ...), and the medians are compared.

Usage: bench/waiters_bench.py [--n N] [--waiters 0,100,1000] [--rounds R] [--quick]
Environment: DEVMAIL (binary, default build/devmail), BENCH_QUICK=1.
All traffic stays on 127.0.0.1; every phase is bounded in time.
"""

import argparse
import json
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import free_port, log

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
START_TIMEOUT = 15.0
SETTLE_TIMEOUT = 120.0
SESSIONS = 4


class Server:
    def __init__(self, binary, waiters):
        self.tmp = tempfile.mkdtemp(prefix="devmail-waiters-")
        self.smtp, self.http = free_port(), free_port()
        self.proc = subprocess.Popen(
            [binary, "--data-dir", os.path.join(self.tmp, "data"), "--smtp-listen", "127.0.0.1:%d" % self.smtp,
             "--http-listen", "127.0.0.1:%d" % self.http, "--imap-listen", "", "--imaps-listen", "",
             "--pop3-listen", "", "--http-max-waiters", str(max(waiters + 10, 1000)),
             "--http-max-connections", str(waiters + 64), "--max-connections", str(waiters + 256),
             "--max-connections-per-ip", str(waiters + 64), "--retention", "0"] + getattr(self, "extra", []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.http), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.smtp), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("devmail did not start")

    def total(self):
        url = "http://127.0.0.1:%d/api/v1/messages?limit=1" % self.http
        return json.loads(urllib.request.urlopen(url, timeout=30).read())["total"]

    def waiting(self):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http, timeout=30).read().decode()
        for line in text.splitlines():
            if line.startswith("devmail_http_waiting "):
                return int(line.split()[1])
        return -1

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def open_waiters(srv, n):
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", srv.http), timeout=30)
        s.sendall(("GET /api/v1/search?query=to:nobody-%d@example.com&wait=300s HTTP/1.1\r\nHost: localhost\r\n\r\n"
                   % i).encode())
        socks.append(s)
    deadline = time.monotonic() + 60
    while srv.waiting() < n and time.monotonic() < deadline:
        time.sleep(0.1)
    if srv.waiting() < n:
        raise RuntimeError("only %d of %d waiters held" % (srv.waiting(), n))
    return socks


def send(srv, n):
    per = n // SESSIONS
    body = ("Subject: intake\r\nFrom: a@example.net\r\nTo: b@example.com\r\n\r\n" + "x" * 1800 + "\r\n").encode()

    def worker():
        with smtplib.SMTP("127.0.0.1", srv.smtp, timeout=60) as c:
            for _ in range(per):
                c.sendmail("a@example.net", ["b@example.com"], body)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while srv.total() < per * SESSIONS and time.monotonic() < deadline:
        time.sleep(0.02)
    return per * SESSIONS / (time.monotonic() - t0)


def main():
    ap = argparse.ArgumentParser()
    quick = os.environ.get("BENCH_QUICK") == "1"
    ap.add_argument("--n", type=int, default=400 if quick else 2000)
    ap.add_argument("--waiters", default="0,100,1000")
    ap.add_argument("--rounds", type=int, default=1 if quick else 3)
    args = ap.parse_args()
    binary = os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail"))
    counts = [int(x) for x in args.waiters.split(",")]
    rates = {w: [] for w in counts}
    for r in range(args.rounds):
        for w in counts:
            srv = Server(binary, w)
            socks = []
            try:
                socks = open_waiters(srv, w)
                send(srv, 40)  # warm-up
                rate = send(srv, args.n)
                rates[w].append(rate)
                log("round %d, waiters %5d: %7.0f msg/s" % (r + 1, w, rate))
            finally:
                for s in socks:
                    s.close()
                srv.stop()
    print_table("waiters", "vs 0 waiters", counts, rates, args.rounds)
    return 0


def print_table(what, versus, counts, rates, rounds):
    """The medians of interleaved rounds as a Markdown table, each as a
    ratio to the count 0."""
    med = {w: statistics.median(v) for w, v in rates.items()}
    base = med.get(0)
    print("| %s | SMTP intake, msg/s, median of %d (range) | %s |" % (what, rounds, versus))
    print("| ---: | ---: | ---: |")
    for w in counts:
        print("| %d | %.0f (%.0f-%.0f) | %s |" % (w, med[w], min(rates[w]), max(rates[w]),
                                           "%.2f" % (med[w] / base) if base else "-"))


if __name__ == "__main__":
    sys.exit(main())
