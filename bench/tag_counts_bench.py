#!/usr/bin/env python3
"""Tag counts of GET /api/v1/info (the web page's tag sidebar) on a big
store: N messages (default 100,000, bench/http_bench.py's corpus) in the
catch-all's Maildir, each with 0-3 of 10 tags as Dovecot keywords
(dovecot-keywords and the file names), indexed once by the first binary;
then each binary given is started on the same data directory and
GET /api/v1/info is timed REPEAT times (median, min, max reported, with
the counts, which must be the same for every binary).

Usage: bench/tag_counts_bench.py [--n N] [--repeat R] BINARY [BINARY...]
(e.g. build/devmail and an older build). Loopback only; the data
directory is removed at the end unless BENCH_KEEP=1.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port  # noqa: E402
from http_bench import CATCHALL, make_message  # noqa: E402

TAGS = ["signup", "reset", "invoice", "newsletter", "alert", "beta", "vip", "spam", "test", "weekly"]
INDEX_TIMEOUT_S = 600


def write_store(data_dir, n):
    md = os.path.join(data_dir, CATCHALL[0], CATCHALL[1], "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    with open(os.path.join(md, "dovecot-keywords"), "w") as f:
        for i, t in enumerate(TAGS):
            f.write("%d %s\n" % (i, t))
    rnd = random.Random(7)
    for i in range(n):
        data = make_message(i)[3]
        letters = "".join(sorted({chr(ord("a") + rnd.randrange(len(TAGS))) for _ in range(rnd.randrange(4))}))
        name = "%d.M%dP4242Q%d.benchhost,S=%d:2,S%s" % (1700000000 + i, i, i, len(data), letters)
        with open(os.path.join(md, "cur", name), "wb") as f:
            f.write(data)


def time_info(binary, data_dir, n, repeat):
    port = free_port()
    args = [binary, "--data-dir", data_dir, "--hostname", "bench.example", "--http-listen", "127.0.0.1:%d" % port]
    for p in ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "https"):
        args += ["--%s-listen" % p, ""]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/api/v1/info" % port
    try:
        deadline = time.time() + INDEX_TIMEOUT_S
        while True:
            try:
                if json.load(urllib.request.urlopen(url, timeout=INDEX_TIMEOUT_S))["Messages"] == n:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("%s: store not indexed in %d s" % (binary, INDEX_TIMEOUT_S))
            time.sleep(1)
        ms = []
        for _ in range(repeat):
            t = time.perf_counter()
            info = json.load(urllib.request.urlopen(url, timeout=INDEX_TIMEOUT_S))
            ms.append((time.perf_counter() - t) * 1000)
        ms.sort()
        return ms, info["Tags"]
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="devmail-tagbench-")
    try:
        data_dir = os.path.join(tmp, "data")
        write_store(data_dir, a.n)
        counts = None
        for b in a.binaries:
            ms, tags = time_info(os.path.abspath(b), data_dir, a.n, a.repeat)
            print("%s: GET /api/v1/info with %d messages, %d tags: median %.1f ms (min %.1f, max %.1f)"
                  % (b, a.n, len(tags), ms[len(ms) // 2], ms[0], ms[-1]))
            if counts is not None and tags != counts:
                raise SystemExit("tag counts differ: %s vs %s" % (tags, counts))
            counts = tags
        print("counts:", json.dumps(counts, sort_keys=True))
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
