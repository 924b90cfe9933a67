#!/usr/bin/env python3
"""Start-up with a large Maildir and no index: how long until devmail
answers (IMAP greeting), and until a login and SELECT of the INBOX
returns (its mail indexed), with peak RSS. Run by hand:

    python3 bench/start_bench.py [--n 300000] [--bin build/devmail]

Writes --n small messages (at most 1,000,000) into a temporary Maildir,
starts the binary on loopback ports, measures, stops it and removes the
directory.
"""
import argparse
import imaplib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import free_port  # noqa: E402


def fill(root, n):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = int(time.time()) - 3600
    for i in range(n):
        body = "From: a%d@example.com\nTo: all@example.com\nSubject: pre-existing %d\n\nbody %d\n" % (i, i, i)
        with open(os.path.join(root, "new", "%d.M%06dP1Q%d.gen,S=%d" % (t, i % 1000000, i, len(body))), "w") as f:
            f.write(body)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300000)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "build", "devmail"))
    a = ap.parse_args()
    n = min(a.n, 1000000)
    tmp = tempfile.mkdtemp(prefix="devmail-start-bench-")
    try:
        data = os.path.join(tmp, "data")
        t = time.time()
        fill(os.path.join(data, "localhost", "catchall", "Maildir"), n)
        print("wrote %d messages in %.1f s" % (n, time.time() - t))
        port = free_port()
        log = open(os.path.join(tmp, "log"), "wb")
        args = [a.bin, "--data-dir", data, "--imap-listen", "127.0.0.1:%d" % port, "--smtp-listen", "",
                "--imaps-listen", "", "--pop3-listen", "", "--http-listen", "", "--retention", "0"]
        t0 = time.time()
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=120)
                    s.settimeout(300)
                    hello = s.recv(100)
                    s.close()
                    if hello.startswith(b"* OK"):
                        break
                except OSError:
                    if proc.poll() is not None or time.time() - t0 > 600:
                        raise RuntimeError("devmail did not start")
                    time.sleep(0.02)
            greeted = time.time() - t0
            m = imaplib.IMAP4("127.0.0.1", port, timeout=600)
            m.login("catchall@localhost", "x")
            exists = int(m.select("INBOX")[1][0])
            ready = time.time() - t0
            m.logout()
            print("%s: IMAP greeting %.2f s after start; login + SELECT (%d messages) %.1f s; peak RSS %d MB"
                  % (a.bin, greeted, exists, ready, vm_hwm_kb(proc.pid) // 1024))
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
