#!/usr/bin/env python3
"""IMAP benchmark: devmail against Dovecot configured like the recipe.

Both servers serve a copy of the same generated Maildir (account
all@example.com, password "password", INBOX of N messages, some multipart
with attachments, a third already \\Seen). Dovecot is Debian's
dovecot-imapd started privately (`dovecot -F -c CONF`, own base_dir and
state_dir, loopback only, ssl = no, passwd-file with a {PLAIN} password,
mail_location = maildir:...); see bench/imap/dovecot.conf.in.

Workload, the same for both in one run: W client workers (separate
processes, so the Python client is not the bottleneck behind one GIL),
each logged in over its own connection, run I iterations of

    SELECT INBOX
    FETCH a:a+49 (FLAGS ENVELOPE)            50 messages' headers
    UID FETCH u BODY.PEEK[]       x3         three whole bodies
    STORE n +FLAGS (\\Seen)
    SEARCH SUBJECT "topic-k"
    UID COPY u1,u2,u3 Bench-w                into the worker's folder
    SELECT Bench-w
    STORE 1:* +FLAGS.SILENT (\\Deleted)
    EXPUNGE

(11 commands; INBOX keeps its size). ops/s = commands answered OK / wall
time of the whole run (all workers start together). Before the measured
run each server gets one warm-up session (SELECT + FETCH 1:* (FLAGS)), so
Dovecot builds its index files and devmail has indexed the Maildir.

Memory: devmail's VmHWM from /proc; Dovecot: the peak, sampled every
100 ms, of the summed RSS of the master and all its children (imap-login,
auth, imap, config, log, anvil, stats, ...), and its summed PSS.

Usage: bench/imap_bench.py [--n N] [--workers W] [--iters I] [--only devmail|dovecot]
Environment: BENCH_QUICK=1 (400 messages, 4 workers, 5 iterations),
BENCH_N, BENCH_WORKERS, BENCH_ITERS, DEVMAIL (binary, default
build/devmail), BENCH_TMPDIR, BENCH_KEEP=1 (keep the temporary directory).
Loopback only; every run is bounded (RUN_TIMEOUT). Writes the table to
stdout and to bench/out/.
"""

import argparse
import datetime
import grp
import json
import multiprocessing
import os
import platform
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import SAMPLE_INTERVAL, RssSampler, free_port, log, tree_cpu, vm_hwm

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT_DIR = os.path.join(HERE, "out")

ACCOUNT = "all@example.com"
PASSWORD = "password"
DOMAIN = "example.com"
START_TIMEOUT = 20.0       # seconds for a server to greet
RUN_TIMEOUT = 100.0        # a measured run is abandoned after this
FETCH_WINDOW = 50          # messages per header FETCH
BODY_FETCHES = 3           # whole bodies fetched per iteration
COPY_COUNT = 3             # messages copied (then expunged) per iteration
TOPICS = 20                # distinct "topic-k" subject words
CMDS_PER_ITER = 8 + BODY_FETCHES


def wait_imap(port, alive, timeout=START_TIMEOUT):
    """Wait until 127.0.0.1:port greets with '* OK'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"* OK"):
                    s.sendall(b"x LOGOUT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# ---- the Maildir ------------------------------------------------------------

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def make_message(i, rnd):
    """One message as bytes (LF line ends, as Maildir files have)."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(1700000000 + i * 60))
    subject = "Bench message %d topic-%d %s" % (i, i % TOPICS, rnd.choice(WORDS))
    lines = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(100, 1200)))
    body = "\n".join(lines[k:k + 72] for k in range(0, len(lines), 72)) + "\n"
    head = ("Return-Path: <sender%d@example.net>\n"
            "Delivered-To: all@example.com\n"
            "From: Sender %d <sender%d@example.net>\n"
            "To: User <user%d@example.com>\n"
            "Subject: %s\n"
            "Date: %s\n"
            "Message-ID: <bench.%d@example.net>\n"
            "MIME-Version: 1.0\n") % (i % 50, i % 50, i % 50, i % 7, subject, date, i)
    if i % 10 == 3:
        att = os.urandom(rnd.randint(2000, 20000)).hex()
        att = "\n".join(att[k:k + 76] for k in range(0, len(att), 76))
        text = (head + "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n"
                "--b%d\nContent-Type: text/plain; charset=us-ascii\n\n%s\n"
                "--b%d\nContent-Type: application/octet-stream; name=\"a%d.bin\"\n"
                "Content-Disposition: attachment; filename=\"a%d.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n%s\n--b%d--\n") % (i, i, body, i, i, i, att, i)
    else:
        text = head + "Content-Type: text/plain; charset=us-ascii\n\n" + body
    return text.encode("ascii")


def make_maildir(root, n, seed=1):
    """<root>/example.com/all/Maildir with n messages in cur/ (every third
    \\Seen), the Maildir++ folders Sent Drafts Trash Junk. Returns bytes."""
    rnd = random.Random(seed)
    md = os.path.join(root, DOMAIN, "all", "Maildir")
    for folder in ("", ".Sent", ".Drafts", ".Trash", ".Junk"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, folder, sub), exist_ok=True)
    total = 0
    base = int(time.time()) - n  # arrival times in the last n seconds
    for i in range(n):
        data = make_message(i, rnd)
        crlf_size = len(data) + data.count(b"\n")
        name = "%d.M%dP4242Q%d.benchhost,S=%d,W=%d:2,%s" % (base + i, i, i, len(data), crlf_size,
                                                        "S" if i % 3 == 0 else "")
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (base + i, base + i))
        total += len(data)
    return total


# ---- servers -----------------------------------------------------------------

class DevmailServer:
    name = "devmail"

    def __init__(self, binary, tmp, maildir_src):
        self.binary = binary
        self.dir = os.path.join(tmp, "devmail")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.dir)
        shutil.copytree(os.path.join(maildir_src, DOMAIN), os.path.join(self.data, DOMAIN), symlinks=True)
        self.passdb = os.path.join(self.dir, "passdb")
        with open(self.passdb, "w") as f:
            f.write("%s:{PLAIN}%s\n" % (ACCOUNT, PASSWORD))
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "devmail.log")
        self.proc = None

    def start(self):
        # retention 0: the generated mail is dated in the past and must not be
        # expunged by devmail's 7-day default while the workload runs
        args = [self.binary, "--data-dir", self.data, "--domain", DOMAIN, "--passdb", self.passdb,
                "--imap-listen", "127.0.0.1:%d" % self.port, "--retention", "0"]
        for proto in ("smtp", "smtps", "imaps", "pop3", "pop3s", "http"):
            args += ["--%s-listen" % proto, ""]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
        if not wait_imap(self.port, lambda: self.proc.poll() is None):
            raise RuntimeError("devmail did not start; log:\n" + self.log_tail())
        return self.proc.pid

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


class DovecotServer:
    name = "dovecot"

    def __init__(self, tmp, maildir_src):
        self.dir = os.path.join(tmp, "dovecot")
        self.mail_root = os.path.join(self.dir, "mail")
        base_dir = os.path.join(self.dir, "run")
        state_dir = os.path.join(self.dir, "state")
        for d in (self.dir, base_dir, state_dir):
            os.makedirs(d, exist_ok=True)
        shutil.copytree(os.path.join(maildir_src, DOMAIN), os.path.join(self.mail_root, DOMAIN), symlinks=True)
        self.passdb = os.path.join(self.dir, "passdb")
        with open(self.passdb, "w") as f:
            f.write("%s:{PLAIN}%s\n" % (ACCOUNT, PASSWORD))
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "dovecot.log")
        me = pwd.getpwuid(os.getuid())
        if os.getuid() == 0:
            # Master runs as root; the mail processes may not: give them an
            # unprivileged user and hand it the copy of the Maildir.
            internal = "dovecot" if self._user_exists("dovecot") else "nobody"
            login = "dovenull" if self._user_exists("dovenull") else "nobody"
            mail = pwd.getpwnam("nobody")
            mail_uid, mail_gid = mail.pw_uid, mail.pw_gid
            for dirpath, dirnames, filenames in os.walk(self.mail_root):
                os.chown(dirpath, mail_uid, mail_gid)
                for n in filenames:
                    os.chown(os.path.join(dirpath, n), mail_uid, mail_gid)
            os.chmod(self.dir, 0o755)
            os.chmod(tmp, 0o755)
        else:
            internal = login = me.pw_name
            mail_uid, mail_gid = me.pw_uid, me.pw_gid
        internal_group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
        os.chmod(self.passdb, 0o644)
        with open(os.path.join(HERE, "imap", "dovecot.conf.in")) as f:
            conf = f.read()
        subst = {"BASE_DIR": base_dir, "STATE_DIR": state_dir, "PORT": str(self.port), "LOG": self.log_path,
                 "INTERNAL_USER": internal, "INTERNAL_GROUP": internal_group, "LOGIN_USER": login,
                 "MAIL_ROOT": self.mail_root, "MAIL_UID": str(mail_uid), "MAIL_GID": str(mail_gid),
                 "PASSDB": self.passdb}
        for k, v in subst.items():
            conf = conf.replace("@%s@" % k, v)
        left = re.findall(r"@[A-Z_]+@", conf)
        if left:
            raise RuntimeError("unfilled placeholders in dovecot.conf.in: %s" % left)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    @staticmethod
    def _user_exists(name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def start(self):
        self.out = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=self.out, stderr=subprocess.STDOUT)
        if not wait_imap(self.port, lambda: self.proc.poll() is None):
            raise RuntimeError("dovecot did not start; log:\n" + self.log_tail())
        return self.proc.pid

    def log_tail(self):
        out = ""
        for p in (self.log_path, os.path.join(self.dir, "dovecot.out")):
            try:
                with open(p, "rb") as f:
                    out += f.read()[-3000:].decode("utf-8", "replace")
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.out.close()


# ---- a lean IMAP client ------------------------------------------------------
#
# Both servers are driven by the same client. It is a few lines over a raw
# socket rather than imaplib so that the client's own CPU time (it shares the
# machine's cores with the server under test) weighs as little as possible in
# the figure: it sends one command, reads the reply (literals skipped by
# their announced size) up to the tagged status, and checks the reply's shape.

LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")


class WorkloadError(Exception):
    pass


class Client:
    def __init__(self, port, timeout=60.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.n = 0
        greeting = self._response()
        if not greeting.startswith(b"* OK"):
            raise WorkloadError("greeting: %r" % greeting[:80])

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise WorkloadError("connection closed by the server")
        self.buf += data

    def _response(self):
        """One whole response (a line plus its literals and continuations)."""
        start = pos = self.pos
        while True:
            eol = self.buf.find(b"\r\n", pos)
            while eol < 0:
                self._fill()
                eol = self.buf.find(b"\r\n", pos)
            m = LITERAL_AT_END.search(self.buf, max(pos, eol - 16), eol) if self.buf[eol - 1:eol] == b"}" else None
            if not m:
                self.pos = eol + 2
                return bytes(self.buf[start:eol])
            pos = eol + 2 + int(m.group(1))
            while len(self.buf) < pos:
                self._fill()

    def cmd(self, text, what=None):
        """Send one command; returns its untagged responses. Raises unless OK."""
        self.n += 1
        tag = b"a%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        prefix = tag + b" "
        while True:
            r = self._response()
            if r.startswith(prefix):
                if self.pos > 1 << 20 or self.pos == len(self.buf):
                    del self.buf[:self.pos]
                    self.pos = 0
                if not r.startswith(prefix + b"OK"):
                    raise WorkloadError("%s: %r" % (what or text[:40], r[:200]))
                return untagged
            untagged.append(r)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, WorkloadError):
            pass
        self.sock.close()


def login(port):
    c = Client(port)
    c.cmd('LOGIN "%s" "%s"' % (ACCOUNT, PASSWORD), "LOGIN")
    return c


def numbers(untagged, prefix):
    """The numbers of a `* SEARCH` or `* SORT` reply."""
    for r in untagged:
        if r.startswith(prefix):
            return [int(x) for x in r[len(prefix):].split()]
    raise WorkloadError("no %r reply" % prefix)


def fetches(untagged, want, what):
    got = sum(1 for r in untagged if r.startswith(b"* ") and b" FETCH (" in r[:24])
    if got < want:
        raise WorkloadError("%s: %d FETCH replies, expected %d" % (what, got, want))


# ---- the workloads -----------------------------------------------------------
#
# Each takes the session, its random generator, its folder and the INBOX
# size, runs one iteration and returns the number of commands it sent (all
# answered OK, else WorkloadError). UIDs of INBOX are 1..n on both servers
# (fresh copy of the Maildir, nothing is expunged from INBOX).

def iter_basic(c, rnd, folder, n):
    """11 commands: the original workload."""
    c.cmd("SELECT INBOX")
    a = rnd.randint(1, max(1, n - FETCH_WINDOW + 1))
    fetches(c.cmd("FETCH %d:%d (FLAGS ENVELOPE)" % (a, a + FETCH_WINDOW - 1)), FETCH_WINDOW, "FETCH ENVELOPE")
    for _k in range(BODY_FETCHES):
        fetches(c.cmd("UID FETCH %d (BODY.PEEK[])" % rnd.randint(1, n)), 1, "UID FETCH BODY")
    c.cmd("STORE %d +FLAGS (\\Seen)" % rnd.randint(1, n))
    if not numbers(c.cmd('SEARCH SUBJECT "topic-%d"' % rnd.randrange(TOPICS)), b"* SEARCH"):
        raise WorkloadError("SEARCH SUBJECT found nothing")
    c.cmd("UID COPY %s %s" % (",".join(str(rnd.randint(1, n)) for _k in range(COPY_COUNT)), folder))
    c.cmd("SELECT %s" % folder)
    c.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    c.cmd("EXPUNGE")
    return 11


def iter_mixed(c, rnd, folder, n):
    """12 commands in INBOX (selected once before the first iteration, that
    SELECT counted too): SEARCH with text and flag keys, SORT, FETCH of the
    sorted result, STORE, COPY."""
    k = rnd.randrange(TOPICS)
    if not numbers(c.cmd('UID SEARCH UNSEEN SUBJECT "topic-%d"' % k), b"* SEARCH"):
        raise WorkloadError("UID SEARCH UNSEEN SUBJECT found nothing")
    numbers(c.cmd('UID SEARCH FROM "sender%d@" SEEN NOT DELETED' % rnd.randrange(50)), b"* SEARCH")
    numbers(c.cmd("UID SEARCH FLAGGED"), b"* SEARCH")
    numbers(c.cmd("UID SEARCH OR ANSWERED FLAGGED SINCE 1-Jan-2020"), b"* SEARCH")
    by_date = numbers(c.cmd('UID SORT (DATE) UTF-8 SUBJECT "topic-%d"' % k), b"* SORT")
    if not by_date:
        raise WorkloadError("UID SORT (DATE) found nothing")
    numbers(c.cmd("UID SORT (SUBJECT) UTF-8 UNSEEN"), b"* SORT")
    numbers(c.cmd("SORT (REVERSE ARRIVAL) UTF-8 FLAGGED"), b"* SORT")
    top = by_date[:10]
    fetches(c.cmd("UID FETCH %s (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE)" % ",".join(map(str, top))),
            len(top), "UID FETCH sorted")
    fetches(c.cmd("UID FETCH %d (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)] BODY.PEEK[TEXT]<0.2048>)"
                  % rnd.choice(top)), 1, "UID FETCH TEXT")
    c.cmd("UID STORE %d +FLAGS (\\Flagged)" % rnd.randint(1, n))
    c.cmd("UID STORE %d -FLAGS (\\Flagged \\Seen)" % rnd.randint(1, n))
    c.cmd("UID COPY %s %s" % (",".join(str(rnd.randint(1, n)) for _k in range(COPY_COUNT)), folder))
    return 12


WORKLOADS = {
    "basic": (iter_basic, None,
              "SELECT, FETCH %d (FLAGS ENVELOPE), %dx UID FETCH BODY.PEEK[], STORE, SEARCH SUBJECT, UID COPY, "
              "SELECT, STORE \\Deleted, EXPUNGE" % (FETCH_WINDOW, BODY_FETCHES)),
    "mixed": (iter_mixed, "SELECT INBOX",
              "4x UID SEARCH (UNSEEN SUBJECT / FROM SEEN NOT DELETED / FLAGGED / OR ANSWERED FLAGGED SINCE), "
              "3x SORT (DATE of a SUBJECT search / SUBJECT of UNSEEN / REVERSE ARRIVAL of FLAGGED), "
              "UID FETCH of the first 10 sorted (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE), UID FETCH header "
              "fields + TEXT<0.2048>, 2x UID STORE (+\\Flagged, -\\Flagged \\Seen), UID COPY of 3"),
}


def session(port, wid, workloads, iters, max_seconds, n_msgs, barrier, result_q):
    """One persistent session for the whole round: logs in once, then for
    each workload waits at the barrier, runs it, and reports (ops, error)."""
    rnd = random.Random(wid)
    c = None
    try:
        c = login(port)
        folder = "Bench-%d" % wid
        c.cmd("CREATE %s" % folder)  # not counted
    except Exception as e:  # reported once per workload below
        c, setup_err = None, "%s: %s" % (type(e).__name__, e)
    for name in workloads:
        fn, prologue, _ = WORKLOADS[name]
        try:
            barrier.wait(RUN_TIMEOUT)
        except Exception:
            result_q.put((name, 0, "barrier broken"))
            return
        if c is None:
            result_q.put((name, 0, setup_err))
            continue
        ops, err = 0, None
        deadline = time.monotonic() + max_seconds
        try:
            if prologue:
                c.cmd(prologue)
                ops += 1
            for _ in range(iters):
                ops += fn(c, rnd, folder, n_msgs)
                if time.monotonic() > deadline:
                    break
        except Exception as e:  # reported, the run counts as failed
            err = "%s: %s" % (type(e).__name__, e)
            c, setup_err = None, "an earlier workload failed: " + err
        result_q.put((name, ops, err))
    if c is not None:
        c.close()


def warm_up(port):
    """One session before the measured ones, so that Dovecot has built its
    index and cache files for what the workloads ask (devmail indexed the
    Maildir at start). Returns the INBOX size."""
    c = login(port)
    m = [r for r in c.cmd("SELECT INBOX") if r.endswith(b" EXISTS")]
    n = int(m[0].split()[1])
    c.cmd("FETCH 1:* (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE)")
    c.cmd("UID SORT (DATE) UTF-8 ALL")
    c.cmd("UID SORT (SUBJECT) UTF-8 ALL")
    c.cmd("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")
    c.cmd('UID SEARCH FROM "sender1@" SUBJECT "topic-1"')
    c.close()
    return n


def run_round(server, sessions, workloads, iters, max_seconds, n_msgs):
    """Start the server, warm it up, open the sessions, run each workload
    with all of them at once; returns {workload: result}."""
    pid = server.start()
    out = {}
    try:
        seen = warm_up(server.port)
        if seen != n_msgs:
            raise RuntimeError("%s shows %d messages in INBOX, expected %d" % (server.name, seen, n_msgs))
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        barrier = ctx.Barrier(sessions + 1)
        with RssSampler(pid, interval=SAMPLE_INTERVAL, pss_every=1) as sampler:
            procs = [ctx.Process(target=session,
                                 args=(server.port, w, workloads, iters, max_seconds, n_msgs, barrier, q))
                     for w in range(sessions)]
            for p in procs:
                p.start()
            try:
                for name in workloads:
                    barrier.wait(RUN_TIMEOUT)  # every session logged in (or done with the previous one)
                    sampler.phase()
                    cpu0 = tree_cpu(pid)
                    t0 = time.monotonic()
                    results = []
                    deadline = t0 + RUN_TIMEOUT
                    while len(results) < sessions and time.monotonic() < deadline:
                        try:
                            results.append(q.get(timeout=0.5))
                        except Exception:
                            if not any(p.is_alive() for p in procs) and q.empty():
                                break
                    elapsed = time.monotonic() - t0
                    cpu = tree_cpu(pid) - cpu0
                    rss, pss, procs_n = sampler.phase()
                    errors = [e for _, _, e in results if e]
                    if len(results) < sessions:
                        errors.append("%d sessions did not finish within %.0f s" % (sessions - len(results),
                                                                                    RUN_TIMEOUT))
                    ops = sum(o for _, o, _ in results)
                    out[name] = {"server": server.name, "workload": name, "ops": ops,
                                 "seconds": round(elapsed, 3),
                                 "ops_per_s": round(ops / elapsed, 1) if elapsed > 0 else 0.0,
                                 "cpu_seconds": round(cpu, 2), "peak_rss": rss, "peak_pss": pss,
                                 "procs": procs_n, "errors": errors}
                    if errors:
                        break
            finally:
                barrier.abort()
                for p in procs:
                    p.join(5)
                    if p.is_alive():
                        p.kill()
                        p.join()
        if server.name == "devmail":
            for r in out.values():
                r["vm_hwm"] = vm_hwm(pid)
    finally:
        server.stop()
    return out


def failed_result(name, workload, err):
    return {"server": name, "workload": workload, "ops": 0, "seconds": 0, "ops_per_s": 0.0, "cpu_seconds": 0,
            "peak_rss": 0, "peak_pss": 0, "procs": 0, "errors": [err]}


def mb(x):
    return x / 1048576.0


def main():
    ap = argparse.ArgumentParser(description="IMAP benchmark: devmail vs Dovecot")
    quick = os.environ.get("BENCH_QUICK") == "1"
    env = os.environ.get
    ap.add_argument("--n", type=int, default=int(env("BENCH_N", 400 if quick else 2000)))
    ap.add_argument("--sessions", type=int, default=int(env("BENCH_SESSIONS", 10)))
    ap.add_argument("--iters", type=int, default=int(env("BENCH_ITERS", 5 if quick else 30)))
    ap.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", 1 if quick else 3)))
    ap.add_argument("--max-seconds", type=float, default=float(env("BENCH_MAX_SECONDS", 60)),
                    help="a session stops iterating a workload after this long")
    ap.add_argument("--workloads", default=env("BENCH_WORKLOADS", "basic,mixed"))
    ap.add_argument("--only", choices=("devmail", "dovecot"))
    ap.add_argument("--devmail", default=env("DEVMAIL", os.path.join(REPO, "build", "devmail")))
    args = ap.parse_args()
    if args.n < FETCH_WINDOW:
        ap.error("--n must be at least %d" % FETCH_WINDOW)
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload %r (%s)" % (w, ", ".join(WORKLOADS)))

    t0 = time.monotonic()
    load0 = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="devmail-imapbench-", dir=env("BENCH_TMPDIR"))
    if os.getuid() == 0:
        os.chmod(tmp, 0o755)  # Dovecot's unprivileged processes read below it
    rounds = []  # [{server: {workload: result}}]
    try:
        src = os.path.join(tmp, "src")
        nbytes = make_maildir(src, args.n)
        log("generated %d messages (%.1f MB) in %.1f s" % (args.n, nbytes / 1e6, time.monotonic() - t0))
        names = []
        if args.only in (None, "devmail"):
            names.append("devmail")
        if args.only in (None, "dovecot"):
            if shutil.which("dovecot") is None:
                log("dovecot not installed (apt-get install dovecot-imapd): skipping it")
            else:
                names.append("dovecot")
        for r in range(args.runs):
            rdir = os.path.join(tmp, "run%d" % r)
            os.makedirs(rdir)
            got = {}
            # alternate which server goes first, so a drift of the machine's
            # load during the bench does not always favour the same one
            for name in (names if r % 2 == 0 else names[::-1]):
                srv = DevmailServer(args.devmail, rdir, src) if name == "devmail" else DovecotServer(rdir, src)
                log("run %d/%d: %s on 127.0.0.1:%d ..." % (r + 1, args.runs, name, srv.port))
                try:
                    res = run_round(srv, args.sessions, workloads, args.iters, args.max_seconds, args.n)
                except Exception as e:
                    log("%s failed: %s\n%s" % (name, e, srv.log_tail()))
                    res = {}
                for w in workloads:
                    res.setdefault(w, failed_result(name, w, "not run"))
                    for e in res[w]["errors"][:5]:
                        log("  %s %s error: %s" % (name, w, e))
                got[name] = res
            rounds.append(got)
            shutil.rmtree(rdir, ignore_errors=True)
    finally:
        if env("BENCH_KEEP") == "1":
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    lines = []
    lines.append("devmail IMAP benchmark, %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    dv = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("dovecot") else "not installed"
    lines.append("host: %s, %d CPUs, load average %.1f at the start; Dovecot %s"
                 % (platform.node(), os.cpu_count() or 0, load0[0], dv))
    lines.append("mailbox: %d messages; %d persistent sessions (one process and one connection each, logged "
                 "in once per run), %d iterations each (at most %.0f s) per workload; %d runs, each server "
                 "restarted on a fresh copy of the Maildir per run"
                 % (args.n, args.sessions, args.iters, args.max_seconds, args.runs))
    for w in workloads:
        lines.append("  %s: %s" % (w, WORKLOADS[w][2]))
    lines.append("memory, the same for both: every %.1f s the RSS and the PSS of the server's process and all "
                 "its descendants are summed (Dovecot: master, config, log, anvil, stats, auth, imap-login and "
                 "one imap process per session); peaks per workload. PSS counts a shared page once in total "
                 "(split among the processes mapping it); the RSS sum counts it once per process."
                 % SAMPLE_INTERVAL)
    lines.append("cpu: user+system CPU seconds of the server's processes (and reaped children) during the "
                 "workload")
    lines.append("")
    hdr = "%-4s %-8s %-8s %7s %7s %8s %9s %10s %8s %6s %s" % (
        "run", "workload", "server", "ops", "seconds", "ops/s", "ms cpu/op", "RSS MB", "PSS MB", "procs",
        "errors")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    ratios = {w: [] for w in workloads}
    failed = not rounds
    for i, got in enumerate(rounds):
        for w in workloads:
            for name in names:
                r = got[name][w]
                failed = failed or bool(r["errors"])
                lines.append("%-4d %-8s %-8s %7d %7.2f %8.1f %9.2f %10.1f %8.1f %6d %d" % (
                    i + 1, w, name, r["ops"], r["seconds"], r["ops_per_s"],
                    1000.0 * r["cpu_seconds"] / r["ops"] if r["ops"] else 0.0,
                    mb(r["peak_rss"]), mb(r["peak_pss"]), r["procs"], len(r["errors"])))
            if "devmail" in got and "dovecot" in got:
                d, v = got["devmail"][w], got["dovecot"][w]
                if v["ops_per_s"] > 0 and v["peak_rss"] > 0 and v["peak_pss"] > 0 and d["ops"]:
                    ratios[w].append((d["ops_per_s"] / v["ops_per_s"], d["peak_rss"] / v["peak_rss"],
                                      d["peak_pss"] / v["peak_pss"],
                                      (v["cpu_seconds"] / v["ops"]) / (d["cpu_seconds"] / d["ops"])
                                      if d["cpu_seconds"] > 0 and v["ops"] else 0.0))
    met = True
    if any(ratios.values()):
        lines.append("")
        lines.append("devmail/dovecot per run (target in every run: throughput >= 2x, memory <= 0.5x):")
        for w in workloads:
            rs = ratios[w]
            if not rs:
                met = False
                continue
            lines.append("  %-6s throughput %s (min %.2fx); RSS %s (max %.2fx); PSS %s (max %.2fx); "
                         "CPU per op: dovecot/devmail %s" % (
                             w, " ".join("%.2fx" % x[0] for x in rs), min(x[0] for x in rs),
                             " ".join("%.2fx" % x[1] for x in rs), max(x[1] for x in rs),
                             " ".join("%.2fx" % x[2] for x in rs), max(x[2] for x in rs),
                             " ".join("%.1fx" % x[3] for x in rs)))
            if len(rs) < len(rounds) or min(x[0] for x in rs) < 2.0 or max(x[1] for x in rs) > 0.5 \
                    or max(x[2] for x in rs) > 0.5:
                met = False
        lines.append("target %s in every run" % ("met" if met else "NOT met"))
    lines.append("total bench time %.0f s" % (time.monotonic() - t0))
    text = "\n".join(lines)
    print(text, flush=True)
    try:
        os.makedirs(OUT_DIR, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        with open(os.path.join(OUT_DIR, "imap_bench-%s.txt" % stamp), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(OUT_DIR, "imap_bench-%s.json" % stamp), "w") as f:
            json.dump({"args": vars(args), "load_average": load0, "rounds": rounds}, f, indent=1)
    except OSError as e:
        log("could not write bench/out: %s" % e)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
