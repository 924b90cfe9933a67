#!/usr/bin/env python3
"""IMAP NOTIFY sessions against SMTP intake.

A session under `NOTIFY SET (personal (MessageNew MessageExpunge
FlagChange))` is told of every delivery, so many of them could slow mail
intake down. For W = 0, 100 and 200 such sessions (each read by a
background thread, as a client would), a fresh devmail gets N messages from
4 parallel SMTP sessions; the figure is messages per second from the first
MAIL to the last message stored, and the ratio to the run without NOTIFY
sessions (same binary, same run). Rounds are interleaved and the medians
compared, as intake on this 2-core box varies by 10-20 % between runs.

Usage: bench/notify_bench.py [--n N] [--sessions 0,100,200] [--rounds R]
Environment: DEVMAIL (binary, default build/devmail), BENCH_QUICK=1.
All traffic stays on 127.0.0.1; every phase is bounded in time.
"""

import argparse
import os
import selectors
import sys
import threading

from benchlib import log
from waiters_bench import Server, print_table, send

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class ImapServer(Server):
    """The waiters bench's server with IMAP listening too."""

    def __init__(self, binary, sessions):
        from benchlib import free_port
        self.imap = free_port()
        self.extra = ["--imap-listen", "127.0.0.1:%d" % self.imap, "--imap-max-connections", str(sessions + 16),
                      "--imap-max-sessions-per-user", str(sessions + 16)]
        super().__init__(binary, sessions)


def read_reply(f, tag):
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("IMAP connection closed")
        if line.startswith(tag + b" "):
            read_reply.last = line
            return line


def open_sessions(srv, n):
    import socket
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", srv.imap), timeout=30)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN bench%d@example.com password\r\n" % i)
        if b" OK" not in read_reply(f, b"a"):
            raise RuntimeError("login refused: %r" % read_reply.last)
        s.sendall(b"b NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))\r\n")
        if b" OK" not in read_reply(f, b"b"):
            raise RuntimeError("NOTIFY refused")
        s.setblocking(False)
        socks.append(s)
    return socks


class Reader(threading.Thread):
    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks, self.stop, self.bytes = socks, False, 0

    def run(self):
        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        while not self.stop:
            for k, _ in sel.select(0.1):
                try:
                    self.bytes += len(k.fileobj.recv(65536))
                except (BlockingIOError, ConnectionError):
                    pass


def main():
    ap = argparse.ArgumentParser()
    quick = os.environ.get("BENCH_QUICK") == "1"
    ap.add_argument("--n", type=int, default=400 if quick else 2000)
    ap.add_argument("--sessions", default="0,100,200")
    ap.add_argument("--rounds", type=int, default=1 if quick else 3)
    args = ap.parse_args()
    binary = os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail"))
    counts = [int(x) for x in args.sessions.split(",")]
    rates = {w: [] for w in counts}
    for r in range(args.rounds):
        for w in counts:
            srv = ImapServer(binary, w)
            socks, reader = [], None
            try:
                socks = open_sessions(srv, w)
                reader = Reader(socks)
                reader.start()
                send(srv, 40)  # warm-up
                rate = send(srv, args.n)
                rates[w].append(rate)
                log("round %d, NOTIFY sessions %4d: %7.0f msg/s" % (r + 1, w, rate))
            finally:
                if reader:
                    reader.stop = True
                    reader.join()
                for s in socks:
                    s.close()
                srv.stop()
    print_table("NOTIFY sessions", "vs none", counts, rates, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
