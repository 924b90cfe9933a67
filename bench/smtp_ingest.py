#!/usr/bin/env python3
"""SMTP ingest benchmark: devmail against Postfix configured like the recipe.

For every workload (body size x client concurrency) both servers are started
fresh on free loopback ports with empty stores, warmed up with a few
messages, then fed the same N messages by Postfix's load generator
smtp-source. The figure is the wall-clock time from the start of
smtp-source until all N messages are files in the Maildir (Postfix queues
first and delivers asynchronously, so its clock stops only when the last
message has been delivered, not when it was queued). Peak memory: devmail's
VmHWM from /proc; for Postfix the peak, sampled every 100 ms, of the summed
RSS of the master and all its children (smtpd, cleanup, qmgr,
trivial-rewrite, virtual, ...).

Usage: bench/smtp_ingest.py [--n N] [--quick] [--repeat R] [--only devmail|postfix]
Environment: BENCH_N, BENCH_QUICK=1, BENCH_REPEAT (runs per workload and
server, median reported; default 3, quick 1), BENCH_CONC (e.g. "1,16,64"),
BENCH_SIZES (bytes, e.g. "2048,102400"), BENCH_TMPDIR (where the stores
live; must be a real disk, not tmpfs, for durable figures), BENCH_KEEP=1
(keep the temporary directory), DEVMAIL (binary, default build/devmail),
BENCH_SMTP_SOURCE_ARGS (extra smtp-source options, e.g. "-d" to send all of
a session's messages over one connection).
Must run as root (Postfix's master needs it). Writes the table to stdout and
to bench/out/.
"""

import argparse
import datetime
import json
import os
import platform
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

POLL_INTERVAL = 0.02        # Maildir count polling period, seconds
START_TIMEOUT = 15.0        # seconds for a server to accept connections
WARMUP_MSGS = 20            # messages sent before each measured run
FROM = "from@example.net"
TO = "to@example.com"


def wait_port(port, alive, timeout=START_TIMEOUT):
    """Wait until 127.0.0.1:port accepts and sends a 220 greeting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def count_maildir(domain_dir):
    """Messages in new/ and cur/ of every Maildir under <domain_dir>/*/."""
    total = 0
    try:
        users = os.listdir(domain_dir)
    except FileNotFoundError:
        return 0
    for user in users:
        for sub in ("new", "cur"):
            try:
                with os.scandir(os.path.join(domain_dir, user, "Maildir", sub)) as it:
                    total += sum(1 for _ in it)
            except FileNotFoundError:
                pass
    return total




class Devmail:
    name = "devmail"

    def __init__(self, binary, workdir):
        self.binary = binary
        self.dir = workdir
        self.data = os.path.join(workdir, "data")
        self.domain_dir = os.path.join(self.data, "example.com")
        self.port = None
        self.proc = None
        self.logf = None

    def start(self):
        os.makedirs(self.data)
        self.port = free_port()
        self.logf = open(os.path.join(self.dir, "devmail.log"), "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data,
             "--hostname", "devmail.example.com", "--domain", "example.com",
             "--smtp-listen", "127.0.0.1:%d" % self.port,
             "--imap-listen", "", "--imaps-listen", "",
             "--pop3-listen", "", "--http-listen", ""],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
        if not wait_port(self.port, lambda: self.proc.poll() is None):
            raise RuntimeError("devmail did not start; see %s/devmail.log:\n%s"
                               % (self.dir, tail(os.path.join(self.dir, "devmail.log"))))

    def pid(self):
        return self.proc.pid

    def clear(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def peak_rss(self, sampled):
        # VmHWM is the kernel's exact peak; the sample is only a fallback.
        return max(vm_hwm(self.proc.pid), sampled)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()


class Postfix:
    """One private instance, set up once (setup.sh and `postfix check` take
    seconds) and started fresh for every run. Its queue is empty after each
    run; the delivered mail is removed by clear()."""
    name = "postfix"

    def __init__(self, instdir):
        self.dir = instdir
        self.conf = os.path.join(instdir, "etc")
        self.domain_dir = os.path.join(instdir, "vhosts", "example.com")
        self.pidfile = os.path.join(instdir, "spool", "pid", "master.pid")
        self.port = None
        self.master = None

    def start(self):
        if not os.path.exists(os.path.join(self.conf, "main.cf")):
            port = free_port()
            run([os.path.join(HERE, "postfix", "setup.sh"), self.dir, str(port)])
            with open(os.path.join(self.dir, "port"), "w") as f:
                f.write(str(port))
        with open(os.path.join(self.dir, "port")) as f:
            self.port = int(f.read())
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass
        self.master = None
        run(["postfix", "-c", self.conf, "start"])
        deadline = time.monotonic() + START_TIMEOUT
        while self.master is None and time.monotonic() < deadline:
            try:
                with open(self.pidfile) as f:
                    self.master = int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
        if self.master is None or not wait_port(self.port, lambda: alive_pid(self.master)):
            raise RuntimeError("postfix did not start; see %s/postfix.log:\n%s"
                               % (self.dir, tail(os.path.join(self.dir, "postfix.log"))))

    def clear(self):
        """Remove delivered mail (the server is stopped)."""
        for name in os.listdir(self.domain_dir):
            shutil.rmtree(os.path.join(self.domain_dir, name), ignore_errors=True)

    def pid(self):
        return self.master

    def peak_rss(self, sampled):
        return sampled

    def stop(self):
        if not os.path.exists(os.path.join(self.conf, "main.cf")):
            return
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.master:
            deadline = time.monotonic() + 10
            while alive_pid(self.master) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive_pid(self.master):
                try:
                    os.kill(self.master, signal.SIGKILL)
                except OSError:
                    pass


def alive_pid(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except OSError:
        return False


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode,
                                                   r.stdout.decode(errors="replace")))


def smtp_source(port, msgs, sessions, size, timeout):
    cmd = (["smtp-source"] + os.environ.get("BENCH_SMTP_SOURCE_ARGS", "").split()
           + ["-l", str(size), "-m", str(msgs), "-s", str(sessions),
              "-f", FROM, "-t", TO, "127.0.0.1:%d" % port])
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "smtp-source still running after %.0f s (killed)" % timeout
    return r.returncode, r.stdout.decode(errors="replace").strip()


def wait_count(domain_dir, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        n = count_maildir(domain_dir)
        if n >= want or time.monotonic() >= deadline:
            return n
        time.sleep(POLL_INTERVAL)


def measure(server, n, conc, size):
    """One measured run against a freshly started server."""
    try:
        server.start()
        timeout = 60 + n * size / 2e6   # generous: >= 2 MB/s and 60 s slack
        rc, out = smtp_source(server.port, WARMUP_MSGS, min(conc, 4), size, timeout)
        base = wait_count(server.domain_dir, WARMUP_MSGS, 30)
        if rc != 0 or base != WARMUP_MSGS:
            raise RuntimeError("%s warm-up failed (rc %d, %d/%d delivered): %s"
                               % (server.name, rc, base, WARMUP_MSGS, out))
        want = base + n
        with RssSampler(server.pid()) as sampler:
            t0 = time.monotonic()
            rc, out = smtp_source(server.port, n, conc, size, timeout)
            t1 = time.monotonic()
            got = wait_count(server.domain_dir, want, timeout)
            t2 = time.monotonic()
        delivered = got - base
        res = {
            "server": server.name, "n": n, "concurrency": conc, "size": size,
            "smtp_source_rc": rc, "delivered": delivered,
            "accept_seconds": t1 - t0, "deliver_seconds": t2 - t0,
            "msgs_per_sec": delivered / (t2 - t0) if t2 > t0 else 0.0,
            "accept_msgs_per_sec": n / (t1 - t0) if t1 > t0 else 0.0,
            "peak_rss_bytes": server.peak_rss(sampler.peak),
            "peak_pss_bytes": sampler.peak_pss,
            "peak_procs": sampler.peak_procs,
        }
        if rc != 0:
            res["error"] = "smtp-source exit %d: %s" % (rc, out[-300:])
        elif delivered != n:
            res["error"] = "only %d of %d messages delivered within %.0f s" % (
                delivered, n, timeout)
        return res
    finally:
        server.stop()


def summarize(runs):
    """Median throughput over repetitions, highest memory peaks."""
    def median(key):
        v = sorted(r[key] for r in runs)
        m = len(v) // 2
        return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2
    out = dict(runs[0])
    for key in ("msgs_per_sec", "accept_msgs_per_sec", "deliver_seconds"):
        out[key] = median(key)
    for key in ("peak_rss_bytes", "peak_pss_bytes", "peak_procs"):
        out[key] = max(r[key] for r in runs)
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        out["error"] = "; ".join(errors)
    else:
        out.pop("error", None)
    out["runs"] = len(runs)
    return out


def fs_type(path):
    best, fstype = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fstype = mnt, parts[2]
    except OSError:
        pass
    return fstype


def devmail_usable(binary):
    if not os.access(binary, os.X_OK):
        return "no executable %s (run make)" % binary
    return None


def label(size, conc):
    sz = "%d KB" % (size // 1024) if size % 1024 == 0 else "%d B" % size
    return "%s c=%d" % (sz, conc)


def fmt_rate(r):
    if r is None:
        return "n/a"
    s = "%.0f" % r["msgs_per_sec"]
    return s + ("!" if "error" in r else "")


def fmt_mb(r, key):
    return "n/a" if r is None else "%.1f" % (r[key] / 1048576)


def table(rows):
    head = ("workload", "devmail msg/s", "postfix msg/s", "ratio",
            "devmail RSS MB", "postfix RSS MB", "devmail PSS MB", "postfix PSS MB",
            "postfix procs", "postfix queued/s")
    na = "n/a"
    lines = []
    for size, conc, d, p in rows:
        ratio = na
        if d and p and p["msgs_per_sec"] > 0:
            ratio = "%.1fx" % (d["msgs_per_sec"] / p["msgs_per_sec"])
        lines.append((label(size, conc), fmt_rate(d), fmt_rate(p), ratio,
                      fmt_mb(d, "peak_rss_bytes"), fmt_mb(p, "peak_rss_bytes"),
                      fmt_mb(d, "peak_pss_bytes"), fmt_mb(p, "peak_pss_bytes"),
                      na if p is None else "%d" % p["peak_procs"],
                      na if p is None else "%.0f" % p["accept_msgs_per_sec"]))
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(len(head))]
    out = []
    for i, row in enumerate([head] + lines):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def env_list(name, default):
    v = os.environ.get(name)
    return [int(x) for x in v.split(",") if x.strip()] if v else default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=None, help="messages per run")
    ap.add_argument("--quick", action="store_true",
                    help="N=200, concurrency 1 and 16, 2 KB only")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per workload and server; the median is reported")
    ap.add_argument("--only", choices=("devmail", "postfix"), default=None)
    args = ap.parse_args()

    quick = args.quick or os.environ.get("BENCH_QUICK") == "1"
    n = args.n or int(os.environ.get("BENCH_N", "200" if quick else "2000"))
    concs = env_list("BENCH_CONC", [1, 16] if quick else [1, 16, 64])
    sizes = env_list("BENCH_SIZES", [2048] if quick else [2048, 102400])
    repeat = args.repeat or int(os.environ.get("BENCH_REPEAT", "1" if quick else "3"))
    binary = os.environ.get("DEVMAIL", os.path.join(REPO, "build", "devmail"))

    if os.geteuid() != 0:
        log("bench: must run as root (a private Postfix master runs as root)")
        return 1
    if not shutil.which("smtp-source") or not shutil.which("postfix"):
        log("bench: Postfix (smtp-source, postfix) not installed; run: sh scripts/deps.sh test")
        return 1

    use_devmail = args.only != "postfix"
    use_postfix = args.only != "devmail"
    notes = []
    if use_devmail:
        why = devmail_usable(binary)
        if why:
            notes.append("devmail skipped: " + why)
            log("bench: " + notes[-1])
            use_devmail = False

    tmp = tempfile.mkdtemp(prefix="devmail-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    os.chmod(tmp, 0o755)  # Postfix daemons and the mailbox owner traverse it
    if use_devmail:
        # Work on a private copy: `make` may rewrite build/devmail meanwhile.
        copy = os.path.join(tmp, "devmail-bin")
        shutil.copy2(binary, copy)
        binary = copy
    fstype = fs_type(os.path.realpath(tmp))
    if fstype in ("tmpfs", "ramfs"):
        notes.append("WARNING: %s is on %s; fsync is free there, figures are not durable"
                     % (tmp, fstype))
        log("bench: " + notes[-1])

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)

    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        notes.append("WARNING: load average %.1f at start (other jobs running): "
                     "figures are noisy" % load_start[0])
        log("bench: " + notes[-1])
    rows, results = [], []
    failed = False
    keep = os.environ.get("BENCH_KEEP") == "1"
    started = time.monotonic()
    try:
        k = 0
        for size in sizes:
            for conc in concs:
                runs = {"devmail": [], "postfix": []}
                for rep in range(repeat):
                    for name in ("devmail", "postfix"):
                        if not (use_devmail if name == "devmail" else use_postfix):
                            continue
                        k += 1
                        if name == "devmail":
                            wd = os.path.join(tmp, "devmail-%02d" % k)
                            os.makedirs(wd)
                            srv = Devmail(binary, wd)
                        else:
                            srv = Postfix(os.path.join(tmp, "postfix"))
                        log("bench: %-7s %s N=%d run %d/%d ..." % (
                            name, label(size, conc), n, rep + 1, repeat))
                        r = measure(srv, n, conc, size)
                        log("bench:   %.0f msg/s (queued %.0f/s), %d/%d delivered in "
                            "%.2f s, peak %.1f MB%s" % (
                                r["msgs_per_sec"], r["accept_msgs_per_sec"],
                                r["delivered"], n, r["deliver_seconds"],
                                r["peak_rss_bytes"] / 1048576,
                                " ERROR: " + r["error"] if "error" in r else ""))
                        if "error" in r:
                            failed = True
                        r["repetition"] = rep + 1
                        runs[name].append(r)
                        results.append(r)
                        if not keep:
                            srv.clear()
                        os.sync()  # do not leave one run's writeback to the next
                pair = {name: summarize(rs) for name, rs in runs.items() if rs}
                rows.append((size, conc, pair.get("devmail"), pair.get("postfix")))
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    except (RuntimeError, OSError) as e:
        log("bench: %s" % e)
        keep = True  # the logs named in the message
        return 1
    finally:
        if keep:
            log("bench: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    pf_version = subprocess.run(["postconf", "-h", "mail_version"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL).stdout.decode().strip()
    now = datetime.datetime.now()
    header = [
        "devmail SMTP ingest benchmark, %s" % now.strftime("%Y-%m-%d %H:%M:%S"),
        "host: %s, %d CPUs, kernel %s; stores on %s; Postfix %s; "
        "load average %.1f at start, %.1f at end" % (
            platform.node(), os.cpu_count(), platform.release(), fstype, pf_version,
            load_start[0], os.getloadavg()[0]),
        "each figure: median of %d run(s) per workload and server, each against a "
        "freshly started server (memory: highest peak)" % repeat,
        "workload: %d messages per run from smtp-source %s(%s), "
        "to %s; msg/s = until all are in the Maildir" % (
            n, os.environ.get("BENCH_SMTP_SOURCE_ARGS", "") + " " if os.environ.get(
                "BENCH_SMTP_SOURCE_ARGS") else "",
            "one connection per session" if "-d" in os.environ.get(
                "BENCH_SMTP_SOURCE_ARGS", "").split() else "one connection per message", TO),
        "RSS: devmail VmHWM; postfix peak of summed RSS of all its processes "
        "(100 ms samples)",
        "PSS: peak of summed PSS (shared pages counted once), 500 ms samples; "
        "postfix procs: processes at the RSS peak;",
        "postfix queued/s: until smtp-source got its last 250 (Postfix still "
        "delivering then)",
    ]
    text = "\n".join(header + notes + ["", table(rows)])
    if failed:
        text += "\n\n! = errors during the run (see the log above)"
    text += "\ntotal bench time %.0f s\n" % (time.monotonic() - started)
    print(text, end="")

    os.makedirs(OUT_DIR, exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    for path in (os.path.join(OUT_DIR, "smtp_ingest-%s.txt" % stamp),
                 os.path.join(OUT_DIR, "smtp_ingest-latest.txt")):
        with open(path, "w") as f:
            f.write(text)
    with open(os.path.join(OUT_DIR, "smtp_ingest-%s.json" % stamp), "w") as f:
        json.dump({"n": n, "concurrency": concs, "sizes": sizes, "fs": fstype,
                   "loadavg_start": load_start, "repeat": repeat,
                   "postfix_version": pf_version, "notes": notes,
                   "results": results}, f, indent=1)
    log("bench: written to bench/out/smtp_ingest-%s.txt" % stamp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
