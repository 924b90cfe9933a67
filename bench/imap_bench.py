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
import imaplib
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

from benchlib import RssSampler, free_port, log, vm_hwm

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

    def peak_rss(self, sampler):
        return vm_hwm(self.proc.pid), sampler.peak_pss, 1

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

    def peak_rss(self, sampler):
        return sampler.peak, sampler.peak_pss, sampler.peak_procs

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


# ---- the workload ------------------------------------------------------------

class WorkloadError(Exception):
    pass


def ok(typ, data, what):
    if typ != "OK":
        raise WorkloadError("%s: %s %r" % (what, typ, data[:1]))
    return data


def connect(port):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    ok(*m.login(ACCOUNT, PASSWORD), what="LOGIN")
    return m


def warm_up(port):
    m = connect(port)
    data = ok(*m.select("INBOX"), what="SELECT")
    n = int(data[0])
    ok(*m.fetch("1:*", "(FLAGS)"), what="FETCH")
    m.logout()
    return n


def worker(port, wid, iters, n_msgs, start_at, result_q):
    """One client: its own connection and folder; puts (ops, error) on q."""
    rnd = random.Random(wid)
    ops = 0
    err = None
    try:
        m = connect(port)
        folder = "Bench-%d" % wid
        typ, _ = m.create(folder)  # not counted
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        for _ in range(iters):
            ok(*m.select("INBOX"), what="SELECT")
            ops += 1
            a = rnd.randint(1, max(1, n_msgs - FETCH_WINDOW + 1))
            data = ok(*m.fetch("%d:%d" % (a, a + FETCH_WINDOW - 1), "(FLAGS ENVELOPE)"),
                      what="FETCH %d:%d ENVELOPE" % (a, a + FETCH_WINDOW - 1))
            ops += 1
            uids = re.findall(rb"UID (\d+)", b" ".join(x if isinstance(x, bytes) else x[0] for x in data))
            # UIDs of INBOX are 1..n on both (fresh Maildir, no expunge in INBOX)
            for _k in range(BODY_FETCHES):
                u = rnd.randint(1, n_msgs)
                ok(*m.uid("FETCH", str(u), "(BODY.PEEK[])"), what="UID FETCH BODY")
                ops += 1
            ok(*m.store(str(rnd.randint(1, n_msgs)), "+FLAGS", "(\\Seen)"), what="STORE")
            ops += 1
            ok(*m.search(None, "SUBJECT", '"topic-%d"' % rnd.randrange(TOPICS)), what="SEARCH")
            ops += 1
            cset = ",".join(str(rnd.randint(1, n_msgs)) for _k in range(COPY_COUNT))
            ok(*m.uid("COPY", cset, folder), what="UID COPY")
            ops += 1
            ok(*m.select(folder), what="SELECT folder")
            ops += 1
            ok(*m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)"), what="STORE Deleted")
            ops += 1
            ok(*m.expunge(), what="EXPUNGE")
            ops += 1
            del uids
        m.logout()
    except Exception as e:  # reported, the run counts as failed
        err = "%s: %s" % (type(e).__name__, e)
    result_q.put((ops, err))


def run_workload(server, workers, iters, n_msgs):
    """Start the server, warm it up, run the workers; returns a dict."""
    pid = server.start()
    try:
        seen = warm_up(server.port)
        if seen != n_msgs:
            raise RuntimeError("%s shows %d messages in INBOX, expected %d" % (server.name, seen, n_msgs))
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        with RssSampler(pid) as sampler:
            start_at = time.time() + 1.0 + 0.05 * workers  # every worker logged in by then
            procs = [ctx.Process(target=worker, args=(server.port, w, iters, n_msgs, start_at, q))
                     for w in range(workers)]
            for p in procs:
                p.start()
            results = []
            deadline = time.monotonic() + RUN_TIMEOUT
            while len(results) < workers and time.monotonic() < deadline:
                try:
                    results.append(q.get(timeout=0.5))
                except Exception:
                    if not any(p.is_alive() for p in procs) and q.empty():
                        break
            elapsed = time.time() - start_at
            for p in procs:
                p.join(1)
                if p.is_alive():
                    p.kill()
                    p.join()
        rss, pss, procs_n = server.peak_rss(sampler)
        errors = [e for _, e in results if e]
        if len(results) < workers:
            errors.append("%d workers did not finish within %.0f s" % (workers - len(results), RUN_TIMEOUT))
        ops = sum(o for o, _ in results)
        return {"server": server.name, "ops": ops, "seconds": round(elapsed, 3),
                "ops_per_s": round(ops / elapsed, 1) if elapsed > 0 else 0.0,
                "peak_rss": rss, "peak_pss": pss, "procs": procs_n, "errors": errors}
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser(description="IMAP benchmark: devmail vs Dovecot")
    quick = os.environ.get("BENCH_QUICK") == "1"
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 400 if quick else 2000)))
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 4 if quick else 8)))
    ap.add_argument("--iters", type=int, default=int(os.environ.get("BENCH_ITERS", 5 if quick else 40)))
    ap.add_argument("--only", choices=("devmail", "dovecot"))
    ap.add_argument("--devmail", default=os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail")))
    args = ap.parse_args()
    if args.n < FETCH_WINDOW:
        ap.error("--n must be at least %d" % FETCH_WINDOW)

    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="devmail-imapbench-", dir=os.environ.get("BENCH_TMPDIR"))
    results = []
    try:
        src = os.path.join(tmp, "src")
        nbytes = make_maildir(src, args.n)
        log("generated %d messages (%.1f MB) in %.1f s" % (args.n, nbytes / 1e6, time.monotonic() - t0))
        servers = []
        if args.only in (None, "devmail"):
            servers.append(lambda: DevmailServer(args.devmail, tmp, src))
        if args.only in (None, "dovecot"):
            if shutil.which("dovecot") is None:
                log("dovecot not installed (apt-get install dovecot-imapd): skipping it")
            else:
                servers.append(lambda: DovecotServer(tmp, src))
        for make in servers:
            srv = make()
            log("running %s on 127.0.0.1:%d ..." % (srv.name, srv.port))
            try:
                r = run_workload(srv, args.workers, args.iters, args.n)
            except Exception as e:
                log("%s failed: %s\n%s" % (srv.name, e, srv.log_tail()))
                r = {"server": srv.name, "ops": 0, "seconds": 0, "ops_per_s": 0.0, "peak_rss": 0,
                     "peak_pss": 0, "procs": 0, "errors": [str(e)]}
            results.append(r)
            for e in r["errors"][:5]:
                log("  %s error: %s" % (srv.name, e))
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    by = {r["server"]: r for r in results}
    lines = []
    lines.append("devmail IMAP benchmark, %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    dv = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("dovecot") else "not installed"
    lines.append("host: %s, %d CPUs; Dovecot %s" % (platform.node(), os.cpu_count() or 0, dv))
    lines.append("mailbox: %d messages; %d client workers x %d iterations x %d commands (SELECT, FETCH %d "
                 "(FLAGS ENVELOPE), %dx UID FETCH BODY.PEEK[], STORE, SEARCH SUBJECT, UID COPY, SELECT, "
                 "STORE \\Deleted, EXPUNGE)" % (args.n, args.workers, args.iters, CMDS_PER_ITER, FETCH_WINDOW,
                                                BODY_FETCHES))
    lines.append("RSS: devmail VmHWM; dovecot peak of summed RSS of all its processes (100 ms samples); "
                 "PSS likewise (500 ms samples)")
    lines.append("")
    hdr = "%-8s %8s %8s %9s %12s %12s %6s %s" % ("server", "ops", "seconds", "ops/s", "peak RSS MB",
                                                 "peak PSS MB", "procs", "errors")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in results:
        lines.append("%-8s %8d %8.2f %9.1f %12.1f %12.1f %6d %d" % (
            r["server"], r["ops"], r["seconds"], r["ops_per_s"], r["peak_rss"] / 1048576.0,
            r["peak_pss"] / 1048576.0, r["procs"], len(r["errors"])))
    if "devmail" in by and "dovecot" in by and by["dovecot"]["ops_per_s"] > 0 and by["dovecot"]["peak_rss"] > 0:
        d, v = by["devmail"], by["dovecot"]
        lines.append("")
        lines.append("ratio devmail/dovecot: throughput %.2fx, peak RSS %.2fx (target: >= 2x throughput, "
                     "<= 0.5x memory)" % (d["ops_per_s"] / v["ops_per_s"], d["peak_rss"] / v["peak_rss"]))
    lines.append("total bench time %.0f s" % (time.monotonic() - t0))
    text = "\n".join(lines)
    print(text, flush=True)
    try:
        os.makedirs(OUT_DIR, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        with open(os.path.join(OUT_DIR, "imap_bench-%s.txt" % stamp), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(OUT_DIR, "imap_bench-%s.json" % stamp), "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    except OSError as e:
        log("could not write bench/out: %s" % e)
    failed = any(r["errors"] for r in results) or not results
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
