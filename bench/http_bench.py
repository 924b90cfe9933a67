#!/usr/bin/env python3
"""HTTP API benchmark: devmail against MailDev on the same messages.

One run, loopback only, every phase bounded in time:

1. A corpus of N generated messages (seeded, so every run has the same
   ones): plain text, text+HTML, and some with a small attachment
   (invoice PDF, CSV report, PNG), varied senders, recipients, subjects
   (a few non-ASCII, RFC 2047 encoded).
2. devmail at N: the messages are written as Maildir files into
   <data_dir>/localhost/catchall/Maildir/new/ (the zero-config catch-all
   account) and devmail is started on them; "index N messages" is the time
   from starting the process until the API answers with all N.
3. MailDev (npm `maildev`, version pinned in bench/maildev/package.json,
   installed into build/maildev_node/ when missing; in-memory store) is
   loaded over SMTP with many concurrent connections, for at most
   LOAD_BUDGET seconds: if that is not enough for N, it holds M < N
   messages, and devmail is measured again at the same M (Maildir again).
4. devmail is loaded over SMTP with the same client and the first K
   messages (K = min(M, SMTP_SUBSET)); MailDev's SMTP rate is taken over
   the same first K messages of its load.
5. On every server, with the same client code (Python http.client,
   keep-alive):
   - latency (median, p95) of the newest page of 50 (one client, one
     request at a time): devmail GET /api/v1/messages?start=0&limit=50,
     MailDev GET /api/email/summary?skip=0&limit=50 (what its web UI uses);
   - latency of searches: devmail GET /api/v1/search?query=... with
     subject:"<an invoice number>" (one hit), the same number as a plain
     word, and the plain word "password" (~8% of the messages); MailDev has
     one search: GET /api/email/summary?search=<text> (a substring of the
     subject, addresses or text), given the same number and word;
   - requests per second of the list request with RPS_CLIENTS concurrent
     clients (separate processes, one keep-alive connection each, so the
     client is not held back by one GIL) for RPS_SECONDS;
   - peak RSS: VmHWM of the server process (devmail; MailDev's node).
6. The table (both servers, and how many times better devmail is) goes to
   stdout and to bench/out/http_bench-latest.txt (and -<time>.txt and
   .json); progress to stderr.

Client and servers share the machine's cores: both servers pay that alike.

Usage: bench/http_bench.py [--n N] [--quick] [--only devmail|maildev]
Environment: BENCH_QUICK=1 (N=5000, short phases), BENCH_N, BENCH_TMPDIR,
BENCH_KEEP=1 (keep the temporary directory), DEVMAIL (binary, default
build/devmail), MAILDEV_DIR (default build/maildev_node).
Exit status: 0, or 1 if a server failed to start, died, or answered
wrongly.
"""

import argparse
import base64
import binascii
import datetime
import http.client
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from benchlib import free_port, log, vm_hwm

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT_DIR = os.path.join(HERE, "out")

SEED = 20261125
DEFAULT_N = 100000
QUICK_N = 5000
PAGE_LIMIT = 50                 # messages per listed page
CATCHALL = ("localhost", "catchall")   # devmail's default_account catchall@localhost
START_TIMEOUT = 30.0            # seconds for a server to answer HTTP
INDEX_TIMEOUT = 300.0           # seconds for devmail to index the corpus at start
SETTLE_TIMEOUT = 60.0           # seconds for a server to show all mail sent to it
HTTP_TIMEOUT = 60.0             # one HTTP request
SMTP_TIMEOUT = 60.0             # one SMTP reply
STOP_TIMEOUT = 15.0             # SIGTERM to exit
SMTP_PROCS = 4                  # SMTP client processes ...
SMTP_CONNS_PER_PROC = 4         # ... times connections each = concurrent SMTP sessions
RPS_CLIENTS = 8                 # concurrent HTTP clients for requests/s
TARGET_MIN_INDEX = 100          # the searched invoice is the first one from here on
NPM_TIMEOUT = 300               # npm install

FULL = {"load_budget": 180.0, "smtp_subset": 20000, "lat_requests": 200, "lat_seconds": 8.0,
        "rps_seconds": 10.0}
QUICK = {"load_budget": 30.0, "smtp_subset": 2000, "lat_requests": 40, "lat_seconds": 2.0,
         "rps_seconds": 3.0}


class BenchError(Exception):
    pass


# ---- the corpus ---------------------------------------------------------------

WORDS = ("account update team project review meeting schedule report change release notes customer "
         "order delivery payment receipt service support ticket issue request plan budget quarter "
         "design draft feedback summary today tomorrow week month thanks please attached below above "
         "details status progress deadline version feature branch merge deploy server client data "
         "export import backup storage network access settings profile security invite calendar "
         "agenda office travel hotel flight booking confirm cancel refund invoice balance").split()
FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert "
         "Sybil Trent Victor Walter Zoe Anaïs Jürgen Søren Chloé").split()
LAST = ("Smith Jones Taylor Brown Wilson Evans Thomas Roberts Walker Wright Müller Dubois García "
        "Rossi Novak Kowalski Nguyen Tanaka Silva Ødegaard").split()
SERVICES = [("Acme Accounts", "no-reply@accounts.acme.example"),
            ("Acme Shop", "orders@shop.acme.example"),
            ("Acme Billing", "billing@acme.example"),
            ("Build Bot", "ci@builds.example.org"),
            ("Community Digest", "digest@community.example.net"),
            ("Support", "support@helpdesk.example.com"),
            ("Calendar", "calendar-noreply@cal.example.com"),
            ("Boutique", "commandes@boutique.example.fr")]
RECIPIENTS = 2000
MONTHS = "January February March April May June July August September October November December".split()


def sentence(rnd, lo=6, hi=16):
    words = [rnd.choice(WORDS) for _ in range(rnd.randint(lo, hi))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def paragraphs(rnd, lo=1, hi=4):
    return [" ".join(sentence(rnd) for _ in range(rnd.randint(2, 7))) for _ in range(rnd.randint(lo, hi))]


def wrap(text, width=72):
    out, line = [], ""
    for w in text.split(" "):
        if line and len(line) + 1 + len(w) > width:
            out.append(line)
            line = w
        else:
            line = line + " " + w if line else w
    if line:
        out.append(line)
    return "\n".join(out)


def enc_header(s):
    """RFC 2047 B-encoding for non-ASCII header text."""
    try:
        s.encode("ascii")
        return s
    except UnicodeEncodeError:
        return "=?UTF-8?B?%s?=" % base64.b64encode(s.encode("utf-8")).decode("ascii")


def addr(name, address):
    return '%s <%s>' % (enc_header(name) if not any(c in name for c in ',"') else '"%s"' % name, address)


def text_part(text):
    raw = text.encode("utf-8")
    try:
        raw.decode("ascii")
        return "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n" + text + "\n"
    except UnicodeDecodeError:
        qp = binascii.b2a_qp(raw).decode("ascii")
        return "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp + "\n"


def html_part(title, paras, link):
    body = "".join("<p>%s</p>\n" % p for p in paras)
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
            "<body style=\"font-family: sans-serif\">\n<table width=\"600\"><tr><td>\n<h1>%s</h1>\n%s"
            "<p><a href=\"%s\" style=\"background:#2266cc;color:#fff;padding:8px\">Open</a></p>\n"
            "</td></tr></table>\n</body></html>") % (title, title, body, link)
    qp = binascii.b2a_qp(html.encode("utf-8")).decode("ascii")
    return "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp + "\n"


def attachment_part(rnd, filename, ctype, size):
    data = base64.encodebytes(rnd.randbytes(size)).decode("ascii")
    return ("Content-Type: %s; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\n"
            "Content-Transfer-Encoding: base64\n\n%s") % (ctype, filename, filename, data)


def multipart(kind, boundary, parts):
    out = ["Content-Type: multipart/%s; boundary=\"%s\"\n\nThis is a multi-part message in MIME format.\n"
           % (kind, boundary)]
    for p in parts:
        out.append("--%s\n%s" % (boundary, p))
    out.append("--%s--\n" % boundary)
    return "\n".join(out)


def invoice_number(i):
    return "INV-2026-%06d" % i


def make_message(i):
    """Message i of the corpus: (mail_from, [rcpt], kind, bytes with LF line ends,
    no Return-Path). Depends on i alone, so any process can make any message."""
    rnd = random.Random(SEED * 1000003 + i)
    k = rnd.randrange(RECIPIENTS)
    rcpt_name = "%s %s" % (FIRST[k % len(FIRST)], LAST[(k // len(FIRST)) % len(LAST)])
    rcpt = "user%d@example.com" % k
    r = rnd.random()
    cc = []
    extra = []
    link = "https://app.acme.example/m/%s" % rnd.randbytes(8).hex()
    attach = None
    html = True
    if r < 0.08:
        kind, (sname, saddr) = "reset", SERVICES[0]
        subject = rnd.choice(("Reset your password", "Password reset request for %s" % rcpt,
                              "Your password reset code"))
        paras = ["Hello %s," % rcpt_name.split()[0],
                 "Someone asked to reset the sign-in credentials for %s. Use the link below within one hour." % rcpt,
                 "If it was not you, ignore this message."]
        link = "https://accounts.acme.example/reset?token=%s" % rnd.randbytes(16).hex()
    elif r < 0.18:
        kind, (sname, saddr) = "invoice", SERVICES[2]
        subject = "Invoice %s from Acme" % invoice_number(i)
        paras = ["Dear %s," % rcpt_name, "Your invoice for %s is attached. Amount due: %d.%02d EUR."
                 % (rnd.choice(MONTHS), rnd.randint(5, 900), rnd.randrange(100))] + paragraphs(rnd, 1, 2)
        attach = ("invoice-%06d.pdf" % i, "application/pdf", rnd.randint(1500, 12000))
    elif r < 0.30:
        kind, (sname, saddr) = "shipped", SERVICES[1]
        subject = "Your order #%d-%04d has shipped" % (rnd.randint(100, 999), rnd.randrange(10000))
        paras = ["Hi %s," % rcpt_name.split()[0], "Good news: your order is on its way."] + paragraphs(rnd, 1, 2)
    elif r < 0.40:
        kind, (sname, saddr) = "welcome", SERVICES[0]
        subject = "Welcome to Acme, %s!" % rcpt_name.split()[0]
        paras = ["Welcome aboard!"] + paragraphs(rnd, 2, 4)
    elif r < 0.52:
        kind, (sname, saddr) = "ci", SERVICES[3]
        subject = "[ci] Build #%d %s on %s" % (rnd.randint(1000, 99999), rnd.choice(("failed", "passed", "fixed")),
                                              rnd.choice(("main", "develop", "release-2.3")))
        paras = ["Pipeline %d" % rnd.randint(1, 10**6)] + ["step %d: %s" % (s, sentence(rnd, 3, 8))
                                                         for s in range(rnd.randint(3, 20))]
        html = False
    elif r < 0.60:
        kind, (sname, saddr) = "digest", SERVICES[4]
        subject = "Weekly digest: %d new comments in %s" % (rnd.randint(2, 80), rnd.choice(WORDS))
        paras = paragraphs(rnd, 3, 6)
        extra.append("List-Unsubscribe: <https://community.example.net/unsub/%s>" % rnd.randbytes(6).hex())
    elif r < 0.66:
        kind, (sname, saddr) = "i18n", SERVICES[7]
        subject = rnd.choice(("Votre reçu n°%d – merci !", "Ihre Bestellung %d für Zürich – Bestätigung",
                              "Заказ №%d подтверждён", "ご注文 %d を承りました")) % rnd.randint(1000, 99999)
        paras = ["Bonjour %s," % rcpt_name, "Voilà le reçu de votre commande, à bientôt ! Grüße, Ærøskøbing."] + \
            paragraphs(rnd, 1, 2)
    elif r < 0.70:
        kind, (sname, saddr) = "report", SERVICES[5]
        subject = "Monthly report %s 2026" % rnd.choice(MONTHS)
        paras = paragraphs(rnd, 1, 3)
        attach = rnd.choice((("report.csv", "text/csv", rnd.randint(800, 6000)),
                             ("chart.png", "image/png", rnd.randint(2000, 16000))))
    else:
        kind = "personal"
        f = rnd.randrange(len(FIRST) * len(LAST))
        sname = "%s %s" % (FIRST[f % len(FIRST)], LAST[f // len(FIRST)])
        saddr = "%s.%s@partner%d.example" % (FIRST[f % len(FIRST)].lower().encode("ascii", "ignore").decode(),
                                             LAST[f // len(FIRST)].lower().encode("ascii", "ignore").decode(),
                                             f % 17)
        subject = rnd.choice(("Re: ", "", "Fwd: ", "")) + " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 6)))
        paras = ["Hi %s," % rcpt_name.split()[0]] + paragraphs(rnd, 1, 5) + ["Cheers,", sname]
        html = rnd.random() < 0.3
        if rnd.random() < 0.3:
            c = rnd.randrange(RECIPIENTS)
            cc.append(("Colleague %d" % c, "user%d@example.com" % c))
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(1780000000 + i * 30))
    head = ["From: %s" % addr(sname, saddr),
            "To: %s" % addr(rcpt_name, rcpt)]
    if cc:
        head.append("Cc: %s" % ", ".join(addr(n, a) for n, a in cc))
    head += ["Subject: %s" % enc_header(subject),
             "Date: %s" % date,
             "Message-ID: <%d.%s@%s>" % (i, rnd.randbytes(6).hex(), saddr.split("@")[1]),
             "MIME-Version: 1.0"] + extra
    text = "\n\n".join(wrap(p) for p in paras) + "\n\n" + link
    body = text_part(text)
    if html:
        body = multipart("alternative", "alt-%d" % i, [body, html_part(subject, paras, link)])
    if attach:
        body = multipart("mixed", "mix-%d" % i, [body, attachment_part(rnd, *attach)])
    data = ("\n".join(head) + "\n" + body).encode("utf-8")
    return saddr, [rcpt] + [a for _, a in cc], kind, data


def search_target(n):
    """The first invoice from TARGET_MIN_INDEX on (one message has its number)."""
    for i in range(min(TARGET_MIN_INDEX, n - 1), n):
        if make_message(i)[2] == "invoice":
            return i
    raise BenchError("no invoice in the corpus")


def write_corpus(root, n):
    """Maildir-style files of messages 0..n-1 in root (one directory);
    returns (names, total bytes). Arrival times: the last n seconds."""
    os.makedirs(root)
    base = int(time.time()) - n - 60
    names, total = [], 0
    for i in range(n):
        mail_from, _, _, data = make_message(i)
        data = ("Return-Path: <%s>\nDelivered-To: catchall@localhost\n" % mail_from).encode("ascii") + data
        crlf = len(data) + data.count(b"\n")
        name = "%d.M%dP4242Q%d.benchhost,S=%d,W=%d" % (base + i, i % 1000000, i, len(data), crlf)
        path = os.path.join(root, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (base + i, base + i))
        names.append(name)
        total += len(data)
    return names, total


def link_maildir(corpus, names, data_dir):
    """devmail's catch-all Maildir with the first len(names) corpus files in new/."""
    md = os.path.join(data_dir, CATCHALL[0], CATCHALL[1], "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    new = os.path.join(md, "new")
    for name in names:
        os.link(os.path.join(corpus, name), os.path.join(new, name))


# ---- SMTP load ------------------------------------------------------------------

class SmtpError(Exception):
    pass


class SmtpSession:
    """A plain SMTP client session (EHLO, no pipelining), reused for many messages."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SMTP_TIMEOUT)
        self.f = self.sock.makefile("rb")
        self.expect(220)
        self.cmd(b"EHLO bench.example\r\n", 250)

    def expect(self, code):
        while True:
            line = self.f.readline(4096)
            if not line:
                raise SmtpError("connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                break
        if not line[:3].isdigit() or int(line[:3]) != code:
            raise SmtpError(line.decode("latin-1").strip())

    def cmd(self, data, code):
        self.sock.sendall(data)
        self.expect(code)

    def send(self, mail_from, rcpts, data):
        self.cmd(b"MAIL FROM:<%s>\r\n" % mail_from.encode(), 250)
        for r in rcpts:
            self.cmd(b"RCPT TO:<%s>\r\n" % r.encode(), 250)
        self.cmd(b"DATA\r\n", 354)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        payload = b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines) + b"\r\n.\r\n"
        self.cmd(payload, 250)

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.expect(221)
        except (OSError, SmtpError):
            pass
        self.sock.close()


def smtp_load_proc(port, limit, deadline, counter, done, failed, conns):
    """A loader process: `conns` threads, each on its own session, take the
    next message index until `limit` or `deadline` (CLOCK_MONOTONIC)."""
    def run():
        sess = None
        while True:
            with counter.get_lock():
                i = counter.value
                if i >= limit or time.monotonic() >= deadline:
                    break
                counter.value = i + 1
            mail_from, rcpts, _, data = make_message(i)
            try:
                if sess is None:
                    sess = SmtpSession(port)
                sess.send(mail_from, rcpts, data)
                with done.get_lock():
                    done.value += 1
            except (OSError, SmtpError):
                with failed.get_lock():
                    failed.value += 1
                if sess:
                    sess.sock.close()
                sess = None
        if sess:
            sess.close()
    threads = [threading.Thread(target=run) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def smtp_load(port, limit, budget, k_mark, alive, label):
    """Send messages 0..limit-1 over SMTP_PROCS*SMTP_CONNS_PER_PROC sessions for
    at most `budget` seconds. Returns dict(sent, failed, seconds, k, k_seconds)."""
    ctx = multiprocessing.get_context("fork")
    counter, done, failed = ctx.Value("l", 0), ctx.Value("l", 0), ctx.Value("l", 0)
    t0 = time.monotonic()
    deadline = t0 + budget
    procs = [ctx.Process(target=smtp_load_proc,
                         args=(port, limit, deadline, counter, done, failed, SMTP_CONNS_PER_PROC))
             for _ in range(SMTP_PROCS)]
    for p in procs:
        p.start()
    k_seconds, last_report = None, t0
    while any(p.is_alive() for p in procs):
        time.sleep(0.05)
        now = time.monotonic()
        if k_seconds is None and done.value >= k_mark:
            k_seconds = now - t0
        if now - last_report >= 10:
            log("  %s: %d sent in %.0f s" % (label, done.value, now - t0))
            last_report = now
        if not alive():
            for p in procs:
                p.kill()
            break
        if now > deadline + SMTP_TIMEOUT + 10:
            for p in procs:
                p.kill()
            break
    for p in procs:
        p.join()
    seconds = time.monotonic() - t0
    if k_seconds is None and done.value >= k_mark:
        k_seconds = seconds
    return {"sent": done.value, "failed": failed.value, "taken": counter.value, "seconds": seconds,
            "k": k_mark, "k_seconds": k_seconds}


# ---- HTTP client ------------------------------------------------------------------

def http_get(conn, path):
    conn.request("GET", path, headers={"Accept": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    return resp.status, body


def latency(port, path, max_requests, max_seconds):
    """One keep-alive client, requests one after another: sorted latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        for _ in range(2):  # warm-up
            status, _ = http_get(conn, path)
            if status != 200:
                raise BenchError("GET %s: HTTP %d" % (path, status))
        out = []
        t_end = time.monotonic() + max_seconds
        while len(out) < max_requests and (len(out) < 5 or time.monotonic() < t_end):
            t = time.perf_counter()
            status, _ = http_get(conn, path)
            out.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise BenchError("GET %s: HTTP %d" % (path, status))
        return sorted(out)
    finally:
        conn.close()


def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100 * (len(sorted_ms) - 1)))))
    return sorted_ms[k]


def rps_proc(port, path, t_start, t_end, q):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    ok = errors = 0
    lat = []
    while time.monotonic() < t_start:
        time.sleep(0.001)
    try:
        while time.monotonic() < t_end:
            t = time.perf_counter()
            try:
                status, _ = http_get(conn, path)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
                continue
            lat.append((time.perf_counter() - t) * 1000)
            if status == 200:
                ok += 1
            else:
                errors += 1
    finally:
        conn.close()
    q.put((ok, errors, lat))


def rps(port, path, clients, seconds):
    """`clients` processes, one keep-alive connection each, for `seconds`:
    (requests/s, errors, median latency ms)."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    t_start = time.monotonic() + 0.5
    t_end = t_start + seconds
    procs = [ctx.Process(target=rps_proc, args=(port, path, t_start, t_end, q)) for _ in range(clients)]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:
            results.append(q.get(timeout=seconds + HTTP_TIMEOUT + 10))
        except Exception:  # queue.Empty: a client hung
            break
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join()
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results) + (clients - len(results))
    lat = sorted(x for r in results for x in r[2])
    # requests finishing after t_end add a little; the measured window is
    # from t_start to the last client's end, at most one request beyond t_end
    return ok / seconds, errors, pct(lat, 50)


# ---- servers ----------------------------------------------------------------------

class Server:
    name = "?"
    list_path = None

    def __init__(self, workdir):
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.log = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def get_json(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=HTTP_TIMEOUT)
        try:
            status, body = http_get(conn, path)
        finally:
            conn.close()
        if status != 200:
            raise BenchError("%s: GET %s: HTTP %d" % (self.name, path, status))
        return json.loads(body)

    def wait_total(self, want, timeout):
        """Poll until the server lists `want` messages; returns seconds waited or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if not self.alive():
                raise BenchError("%s died; log:\n%s" % (self.name, self.log_tail()))
            try:
                if self.total() >= want:
                    return time.monotonic() - t0
            except (OSError, http.client.HTTPException, BenchError, ValueError):
                pass
            time.sleep(0.05)
        return None

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def peak_rss(self):
        return vm_hwm(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None


class Devmail(Server):
    name = "devmail"

    def __init__(self, workdir, binary):
        super().__init__(workdir)
        self.binary = binary
        self.data = os.path.join(self.dir, "data")

    def start(self):
        args = [self.binary, "--data-dir", self.data,
                "--smtp-listen", "127.0.0.1:%d" % self.smtp_port,
                "--http-listen", "127.0.0.1:%d" % self.http_port,
                "--imap-listen", "", "--imaps-listen", "", "--pop3-listen", "", "--pop3s-listen", "",
                "--smtps-listen", "",
                # the corpus is dated in the past: no expiry while we measure
                "--retention", "0"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)

    def total(self):
        return int(self.get_json("/api/v1/messages?start=0&limit=1")["total"])

    def list_path(self):
        return "/api/v1/messages?start=0&limit=%d" % PAGE_LIMIT

    def check_page(self, want_total):
        j = self.get_json(self.list_path())
        if j.get("total") != want_total or len(j.get("messages") or []) != min(PAGE_LIMIT, want_total):
            raise BenchError("devmail list: total %r, %d messages; expected %d"
                             % (j.get("total"), len(j.get("messages") or []), want_total))

    def searches(self, invoice):
        q = lambda s: "/api/v1/search?query=%s&start=0&limit=%d" % (urllib.parse.quote(s), PAGE_LIMIT)
        return [("search subject (1 hit)", q('subject:"%s"' % invoice)),
                ("search word (1 hit)", q(invoice)),
                ("search word (~8%)", q("password"))]

    def hits(self, path):
        return int(self.get_json(path).get("messages_count", -1))


class Maildev(Server):
    name = "maildev"

    def __init__(self, workdir, script):
        super().__init__(workdir)
        self.script = script

    def start(self):
        # in-memory store; it also writes each message as an .eml file under
        # $TMPDIR/maildev, so TMPDIR points into our temporary directory
        env = dict(os.environ, TMPDIR=self.dir)
        args = ["node", self.script, "--smtp", str(self.smtp_port), "--web", str(self.http_port),
                "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir, env=env)

    def total(self):
        return int(self.get_json("/api/email/summary?skip=0&limit=1")["total"])

    def list_path(self):
        return "/api/email/summary?skip=0&limit=%d" % PAGE_LIMIT

    def check_page(self, want_total):
        j = self.get_json(self.list_path())
        if j.get("total") != want_total or len(j.get("items") or []) != min(PAGE_LIMIT, want_total):
            raise BenchError("maildev list: total %r, %d items; expected %d"
                             % (j.get("total"), len(j.get("items") or []), want_total))

    def searches(self, invoice):
        q = lambda s: "/api/email/summary?skip=0&limit=%d&search=%s" % (PAGE_LIMIT, urllib.parse.quote(s))
        return [("search subject (1 hit)", q(invoice)),
                ("search word (1 hit)", q(invoice)),
                ("search word (~8%)", q("password"))]

    def hits(self, path):
        return int(self.get_json(path).get("total", -1))


def maildev_script(maildev_dir):
    """build/maildev_node/node_modules/maildev's CLI, installed from
    bench/maildev/package.json when missing or when the pin changed."""
    pkg_src = os.path.join(HERE, "maildev", "package.json")
    with open(pkg_src) as f:
        want = json.load(f)["dependencies"]["maildev"]
    installed = os.path.join(maildev_dir, "node_modules", "maildev", "package.json")
    try:
        with open(installed) as f:
            have = json.load(f).get("version")
    except (OSError, ValueError):
        have = None
    if have != want:
        log("installing maildev %s into %s (npm)" % (want, os.path.relpath(maildev_dir, REPO)))
        os.makedirs(maildev_dir, exist_ok=True)
        shutil.copy(pkg_src, os.path.join(maildev_dir, "package.json"))
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", maildev_dir],
                       cwd=maildev_dir, check=True, timeout=NPM_TIMEOUT, stdout=sys.stderr)
    with open(installed) as f:
        meta = json.load(f)
    script = os.path.join(maildev_dir, "node_modules", "maildev", meta["bin"]["maildev"])
    return script, meta["version"]


# ---- measuring ------------------------------------------------------------------

def measure(server, count, invoice, cfg):
    """The HTTP figures of a running server holding `count` messages."""
    server.check_page(count)
    res = {"count": count}
    lat = latency(server.http_port, server.list_path(), cfg["lat_requests"], cfg["lat_seconds"])
    res["list"] = {"median": pct(lat, 50), "p95": pct(lat, 95), "n": len(lat)}
    log("  %s list: median %.2f ms, p95 %.2f ms (%d requests)" % (server.name, pct(lat, 50), pct(lat, 95), len(lat)))
    res["search"] = {}
    for label, path in server.searches(invoice):
        lat = latency(server.http_port, path, cfg["lat_requests"], cfg["lat_seconds"])
        hits = server.hits(path)
        res["search"][label] = {"median": pct(lat, 50), "p95": pct(lat, 95), "n": len(lat), "hits": hits,
                                "path": path}
        log("  %s %s: median %.2f ms, p95 %.2f ms, %d hits (%d requests)"
            % (server.name, label, pct(lat, 50), pct(lat, 95), hits, len(lat)))
    r, errors, med = rps(server.http_port, server.list_path(), RPS_CLIENTS, cfg["rps_seconds"])
    res["rps"] = {"rps": r, "errors": errors, "median_ms": med, "clients": RPS_CLIENTS, "seconds": cfg["rps_seconds"]}
    log("  %s list, %d clients: %.0f req/s (median %.1f ms), %d errors" % (server.name, RPS_CLIENTS, r, med, errors))
    if errors:
        raise BenchError("%s: %d failed requests under load" % (server.name, errors))
    if not server.alive():
        raise BenchError("%s died while measured; log:\n%s" % (server.name, server.log_tail()))
    res["rss_peak"] = server.peak_rss()
    return res


def run_devmail_maildir(tmp, binary, corpus, names, label, invoice, cfg):
    srv = Devmail(os.path.join(tmp, label), binary)
    link_maildir(corpus, names, srv.data)
    os.sync()
    try:
        t0 = time.monotonic()
        srv.start()
        if srv.wait_total(len(names), INDEX_TIMEOUT) is None:
            raise BenchError("devmail did not index %d messages in %.0f s; log:\n%s"
                             % (len(names), INDEX_TIMEOUT, srv.log_tail()))
        index_s = time.monotonic() - t0
        log("  devmail: indexed %d messages in %.1f s (start to answer)" % (len(names), index_s))
        res = measure(srv, len(names), invoice, cfg)
        res["index_seconds"] = index_s
        return res
    finally:
        srv.stop()


def run_devmail_smtp(tmp, binary, k, cfg):
    srv = Devmail(os.path.join(tmp, "devmail-smtp"), binary)
    try:
        srv.start()
        if srv.wait_total(0, START_TIMEOUT) is None:
            raise BenchError("devmail did not start; log:\n%s" % srv.log_tail())
        load = smtp_load(srv.smtp_port, k, cfg["load_budget"], k, srv.alive, "devmail SMTP")
        if load["sent"] != k or load["failed"]:
            raise BenchError("devmail SMTP: %d of %d sent, %d failed; log:\n%s"
                             % (load["sent"], k, load["failed"], srv.log_tail()))
        if srv.wait_total(k, SETTLE_TIMEOUT) is None:
            raise BenchError("devmail lists %d of %d messages sent" % (srv.total(), k))
        load["rss_peak"] = srv.peak_rss()
        log("  devmail SMTP: %d messages in %.1f s, %.0f msg/s" % (k, load["seconds"], k / load["seconds"]))
        return load
    finally:
        srv.stop()


def run_maildev(tmp, script, n, invoice, cfg):
    srv = Maildev(os.path.join(tmp, "maildev"), script)
    try:
        srv.start()
        if srv.wait_total(0, START_TIMEOUT) is None:
            raise BenchError("maildev did not start; log:\n%s" % srv.log_tail())
        k = min(n, cfg["smtp_subset"])
        load = smtp_load(srv.smtp_port, n, cfg["load_budget"], k, srv.alive, "maildev SMTP")
        if not srv.alive():
            raise BenchError("maildev died while loaded; log:\n%s" % srv.log_tail())
        m = load["sent"]
        log("  maildev SMTP: %d messages in %.1f s, %.0f msg/s (%d failed)"
            % (m, load["seconds"], m / load["seconds"], load["failed"]))
        if load["failed"]:
            raise BenchError("maildev: %d messages refused" % load["failed"])
        if srv.wait_total(m, SETTLE_TIMEOUT) is None:
            raise BenchError("maildev lists %d of %d messages sent" % (srv.total(), m))
        res = measure(srv, m, invoice, cfg)
        res["smtp"] = load
        res["rss_after_load"] = vm_hwm(srv.proc.pid, "VmRSS:")
        return res
    finally:
        srv.stop()


# ---- report ---------------------------------------------------------------------

def fmt_ms(v):
    return "%.1f" % v if v >= 10 else "%.2f" % v


def ratio(better_is_lower, dev, other):
    if not dev or not other:
        return "-"
    r = other / dev if better_is_lower else dev / other
    return "%.1fx" % r


def table(results, meta):
    dev_n, dev_m, md = results.get("devmail_n"), results.get("devmail_m"), results.get("maildev")
    dev_cmp = dev_m or dev_n
    cols = []
    if dev_n:
        cols.append(("devmail @%d" % dev_n["count"], dev_n))
    if dev_m:
        cols.append(("devmail @%d" % dev_m["count"], dev_m))
    if md:
        cols.append(("maildev @%d" % md["count"], md))
    rows = []

    def row(label, get, lower_better, unit_fmt):
        vals = []
        for _, r in cols:
            try:
                v = get(r)
            except (KeyError, TypeError):
                v = None
            vals.append(unit_fmt(v) if v is not None else "-")
        adv = "-"
        if md and dev_cmp:
            try:
                adv = ratio(lower_better, get(dev_cmp), get(md))
            except (KeyError, TypeError):
                pass
        rows.append([label] + vals + [adv])

    row("list newest 50, median ms", lambda r: r["list"]["median"], True, fmt_ms)
    row("list newest 50, p95 ms", lambda r: r["list"]["p95"], True, fmt_ms)
    labels = list((dev_n or dev_m or md or {}).get("search", {}).keys())
    for label in labels:
        row("%s, median ms" % label, lambda r, lb=label: r["search"][lb]["median"], True, fmt_ms)
        row("%s, p95 ms" % label, lambda r, lb=label: r["search"][lb]["p95"], True, fmt_ms)
        row("%s, hits" % label, lambda r, lb=label: r["search"][lb]["hits"], None, str)
        rows[-1][-1] = "-"
    row("list req/s, %d clients" % RPS_CLIENTS, lambda r: r["rps"]["rps"], False, lambda v: "%.0f" % v)
    row("peak RSS MB (VmHWM)", lambda r: r["rss_peak"], True, lambda v: "%.1f" % (v / 1048576))
    row("index at start, s", lambda r: r["index_seconds"], None, lambda v: "%.1f" % v)
    rows[-1][-1] = "-"
    header = ["metric"] + [c[0] for c in cols] + ["devmail better by"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = []
    for r in [header, ["-" * w for w in widths]] + rows:
        lines.append("  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                               for i, c in enumerate(r)))
    out = ["HTTP API benchmark: devmail vs MailDev %s (%s)" % (meta.get("maildev_version", "?"), meta["time"]),
           "%s, %d cores, load average %s at start; corpus of %d messages (%.1f MB), seed %d"
           % (meta["platform"], meta["cores"], meta["load"], meta["n"], meta["corpus_bytes"] / 1e6, SEED),
           ""] + lines
    smtp_dev, smtp_md = results.get("devmail_smtp"), (md or {}).get("smtp")
    out.append("")
    if md:
        s = md["smtp"]
        out.append("MailDev load over SMTP (%d sessions): %d of %d messages in %.1f s (budget %.0f s), %.0f msg/s."
                   % (SMTP_PROCS * SMTP_CONNS_PER_PROC, s["sent"], meta["n"], s["seconds"], meta["load_budget"],
                      s["sent"] / s["seconds"]))
    if smtp_dev and smtp_md and smtp_md.get("k_seconds"):
        k = smtp_dev["k"]
        dr, mr = k / smtp_dev["seconds"], k / smtp_md["k_seconds"]
        out.append("SMTP ingest, first %d messages, %d sessions: devmail %.0f msg/s, maildev %.0f msg/s "
                   "(devmail better by %.1fx)." % (k, SMTP_PROCS * SMTP_CONNS_PER_PROC, dr, mr, dr / mr))
    elif smtp_dev:
        out.append("SMTP ingest, %d messages, %d sessions: devmail %.0f msg/s."
                   % (smtp_dev["k"], SMTP_PROCS * SMTP_CONNS_PER_PROC, smtp_dev["k"] / smtp_dev["seconds"]))
    out.append("Latency: one client, keep-alive, requests one after another (up to %d or %.0f s each); "
               "req/s: %d client processes for %.0f s." % (meta["lat_requests"], meta["lat_seconds"], RPS_CLIENTS,
                                                            meta["rps_seconds"]))
    out.append("devmail better by: for times and memory maildev/devmail, for req/s devmail/maildev; "
               "compared at maildev's count.")
    out.append("MailDev's search is one substring match over subject, addresses and text "
               "(GET /api/email/summary?search=); devmail's is Mailpit's query language.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=("devmail", "maildev"))
    args = ap.parse_args()
    quick = args.quick or os.environ.get("BENCH_QUICK") == "1"
    cfg = dict(QUICK if quick else FULL)
    n = args.n or int(os.environ.get("BENCH_N", QUICK_N if quick else DEFAULT_N))
    binary = os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail"))
    maildev_dir = os.environ.get("MAILDEV_DIR", os.path.join(REPO, "build", "maildev_node"))
    if args.only != "maildev" and not os.access(binary, os.X_OK):
        log("bench: %s not found: run make first" % binary)
        return 1
    script = md_version = None
    if args.only != "devmail":
        script, md_version = maildev_script(maildev_dir)

    t_all = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="http_bench-", dir=os.environ.get("BENCH_TMPDIR"))
    results = {}
    status = 0
    meta = {"time": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "n": n,
            "platform": "%s %s" % (platform.system(), platform.release()), "cores": os.cpu_count(),
            "load": "%.2f" % os.getloadavg()[0], "maildev_version": md_version, "quick": quick}
    meta.update(cfg)
    try:
        log("corpus: %d messages" % n)
        t = time.monotonic()
        corpus = os.path.join(tmp, "corpus")
        names, total = write_corpus(corpus, n)
        invoice = invoice_number(search_target(n))
        meta["corpus_bytes"] = total
        meta["invoice"] = invoice
        log("  written in %.1f s, %.1f MB; searched invoice %s" % (time.monotonic() - t, total / 1e6, invoice))
        if args.only != "maildev":
            log("devmail at %d (Maildir)" % n)
            results["devmail_n"] = run_devmail_maildir(tmp, binary, corpus, names, "devmail-n", invoice, cfg)
        m = n
        if args.only != "devmail":
            log("maildev (SMTP load, budget %.0f s)" % cfg["load_budget"])
            results["maildev"] = run_maildev(tmp, script, n, invoice, cfg)
            m = results["maildev"]["count"]
            if m < n and args.only != "maildev":
                log("devmail at %d (Maildir), maildev's count" % m)
                results["devmail_m"] = run_devmail_maildir(tmp, binary, corpus, names[:m], "devmail-m", invoice, cfg)
        if args.only != "maildev":
            k = min(m, cfg["smtp_subset"])
            log("devmail SMTP ingest of %d" % k)
            results["devmail_smtp"] = run_devmail_smtp(tmp, binary, k, cfg)
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        log("bench: %s" % e)
        status = 1
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["seconds"] = time.monotonic() - t_all
    if "corpus_bytes" not in meta:
        return status or 1
    text = table(results, meta)
    text += "Whole run: %.0f s.%s\n" % (meta["seconds"], "" if status == 0 else " A SERVER FAILED: see stderr.")
    sys.stdout.write(text)
    os.makedirs(OUT_DIR, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in ("http_bench-%s.txt" % stamp, "http_bench-latest.txt"):
        with open(os.path.join(OUT_DIR, name), "w") as f:
            f.write(text)
    with open(os.path.join(OUT_DIR, "http_bench-%s.json" % stamp), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1, default=str)
    return status


if __name__ == "__main__":
    sys.exit(main())
