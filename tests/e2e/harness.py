"""Start and stop a real devmail process for end-to-end tests.

    with Devmail(domains=["example.com"], recipient_map="@example.com all@example.com\n",
                 passdb="all@example.com:{PLAIN}password\n") as dm:
        smtplib.SMTP("127.0.0.1", dm.smtp_port)
        dm.maildir("all@example.com")   # path of that account's Maildir

Every listener gets a free loopback port; the data directory is a fresh
temporary directory. On exit the process is stopped and its log checked
for sanitizer reports (the suite also runs against the ASan build).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("DEVMAIL_BIN", "build/devmail")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("devmail exited early with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d did not open" % port)


class Devmail:
    PROTOCOLS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http")

    def __init__(self, domains=None, recipient_map=None, passdb=None, config=None, args=None,
                 data_dir=None, listen=("smtp", "smtps"), hostname="devmail.example.com"):
        self.own_dir = data_dir is None
        self.tmp = tempfile.mkdtemp(prefix="devmail-e2e-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.hostname = hostname
        self.args = [BIN, "--data-dir", self.data_dir, "--hostname", hostname]
        for d in domains or []:
            self.args += ["--domain", d]
        if recipient_map is not None:
            path = os.path.join(self.tmp, "vmailbox")
            with open(path, "w") as f:
                f.write(recipient_map)
            self.args += ["--recipient-map", path]
        if passdb is not None:
            path = os.path.join(self.tmp, "passdb")
            with open(path, "w") as f:
                f.write(passdb)
            self.args += ["--passdb", path]
        if config is not None:
            path = os.path.join(self.tmp, "devmail.conf")
            with open(path, "w") as f:
                f.write(config)
            self.args += ["-c", path]
        self.ports = {}
        for proto in self.PROTOCOLS:
            if proto in listen:
                self.ports[proto] = free_port()
                self.args += ["--%s-listen" % proto, "127.0.0.1:%d" % self.ports[proto]]
            else:
                self.args += ["--%s-listen" % proto, ""]
        self.args += list(args or [])
        self.proc = None
        self.log_path = os.path.join(self.tmp, "devmail.log")

    @property
    def smtp_port(self):
        return self.ports["smtp"]

    def start(self):
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=66")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=67")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        for proto, port in self.ports.items():
            wait_port(port, proc=self.proc)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop the server; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def maildir(self, account, folder=None):
        user, domain = account.split("@")
        path = os.path.join(self.data_dir, domain, user, "Maildir")
        return path if folder is None else os.path.join(path, "." + folder)

    def messages(self, account, sub="new"):
        d = os.path.join(self.maildir(account), sub)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def read_messages(self, account):
        out = []
        for sub in ("new", "cur"):
            for p in self.messages(account, sub):
                with open(p, "rb") as f:
                    out.append(f.read())
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        text = self.log_text()
        if self.own_dir:
            shutil.rmtree(self.tmp, ignore_errors=True)
        bad = [m for m in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer") if m in text]
        if bad and exc[0] is None:
            raise AssertionError("sanitizer report in devmail log:\n" + text[-6000:])
        if rc not in (0, None) and exc[0] is None and rc != -9:
            raise AssertionError("devmail exited with %s; log:\n%s" % (rc, text[-4000:]))
        return False
