"""Start and stop a real devmail process for end-to-end tests.

    with Devmail(domains=["example.com"], recipient_map="@example.com all@example.com\n",
                 passdb="all@example.com:{PLAIN}password\n") as dm:
        smtplib.SMTP("127.0.0.1", dm.smtp_port)
        dm.maildir("all@example.com")   # path of that account's Maildir

Every listener gets a free loopback port; the data directory is a fresh
temporary directory. On exit the process is stopped and its log checked
for sanitizer reports (the suite also runs against the ASan build).
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("DEVMAIL_BIN", "build/devmail")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The sanitizer build starts several times slower, and CI may share its two
# cores with another build: start-up waits scale with both.
SLOW = float(os.environ.get("DEVMAIL_TEST_SLOW", "4" if "asan" in BIN else "1"))
START_TIMEOUT = 15.0 * SLOW

# Every devmail process a test started; whatever is still running when the
# test run ends (a failed setUpClass, an interrupted test) is killed here.
_LIVE = set()


@atexit.register
def _reap():
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _LIVE.clear()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=None, proc=None):
    deadline = time.time() + (START_TIMEOUT if timeout is None else timeout)
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
    PROTOCOLS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http", "https")

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
        _LIVE.add(self.proc)
        try:
            for proto, port in self.ports.items():
                wait_port(port, proc=self.proc)
        except BaseException:
            # No caller will reach __exit__ or tearDownClass: stop it here.
            self.stop(sig=signal.SIGKILL)
            raise
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
        _LIVE.discard(self.proc)
        self.proc = None
        self.log.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        _LIVE.discard(self.proc)
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


# ---- raw SMTP helpers (added for the SMTP e2e suites) -------------------

class LineSocket:
    """The socket side of the raw protocol clients below: buffered line
    and byte reads, sends, reading until the server closes."""

    # errors that end read_until_close (instead of raising)
    CLOSE_ERRORS = (ConnectionResetError, socket.timeout)

    def __init__(self, port, host="127.0.0.1", timeout=10.0, tls=False):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = tls_client_context().wrap_socket(self.sock)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by server")
        self.buf += data

    def read_line(self):
        """One line as bytes, line end included."""
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def read_until_close(self, timeout=10.0):
        """Everything the server still sends until it closes (bytes)."""
        self.sock.settimeout(timeout)
        out, self.buf = self.buf, b""
        while True:
            try:
                data = self.sock.recv(65536)
            except self.CLOSE_ERRORS:
                break
            if not data:
                break
            out += data
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class SmtpRaw(LineSocket):
    """A line-level SMTP client over a plain socket, for exact reply checks.

        c = SmtpRaw(dm.smtp_port)
        c.greeting              # ["220 devmail.example.com ESMTP devmail"]
        c.cmd("EHLO x")         # list of reply lines, CRLF stripped
    """

    def __init__(self, port, host="127.0.0.1", timeout=10.0, read_greeting=True):
        super().__init__(port, host, timeout)
        self.greeting = self.read_reply() if read_greeting else None

    def read_reply(self):
        """One (possibly multi-line) reply as a list of str lines without CRLF."""
        lines = []
        while True:
            raw = self.read_line()
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return lines

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply()


def smtp_burst(port, data, timeout=10.0):
    """Send data in ONE sendall (as `nc host port <<EOM` does), read until
    the server closes; returns the raw bytes received."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def smtp_reply_lines(raw):
    """Split raw server output into str lines without line ends."""
    return [l.rstrip("\r") for l in raw.decode("utf-8", "replace").split("\n") if l != ""]


def maildir_files(maildir, subs=("new", "cur")):
    """Paths of the message files in a Maildir's new/ and cur/."""
    out = []
    for sub in subs:
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            out += sorted(os.path.join(d, n) for n in os.listdir(d))
    return out


def wait_for(pred, timeout=5.0, step=0.02):
    """Poll pred() until it is truthy or timeout; returns its last value."""
    deadline = time.time() + timeout
    v = pred()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = pred()
    return v


def ensure_running(dm, proto="smtp", timeout=3.0):
    """Restart dm if it died or no longer greets on its first listener
    (used between tests sharing one server so that a crash fails only the
    test that caused it; the crash report stays in the log). Returns True
    if a restart was needed."""
    if dm.proc is not None and dm.proc.poll() is None:
        try:
            s = socket.create_connection(("127.0.0.1", dm.ports[proto]), timeout=timeout)
            try:
                if s.recv(1)[:1] not in (b"", None):
                    return False
            finally:
                s.close()
        except OSError:
            pass
        try:
            dm.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            dm.proc.kill()
            dm.proc.wait()
    dm.restart()
    return True


# ---- IMAP helpers (added for the IMAP e2e suites) -----------------------

RECIPE_DOMAIN = "example.com"
RECIPE_MAP = "@example.com       example.com/all/Maildir/\n"
RECIPE_ACCOUNT = "all@example.com"
RECIPE_PASSWORD = "password"
RECIPE_PASSDB = "all@example.com:{PLAIN}password\n"


def recipe_devmail(listen=("smtp", "imap", "imaps"), **kw):
    """A Devmail configured like the recipe: domain example.com, every
    @example.com address into all@example.com, passdb all@example.com:password."""
    kw.setdefault("domains", [RECIPE_DOMAIN])
    kw.setdefault("recipient_map", RECIPE_MAP)
    kw.setdefault("passdb", RECIPE_PASSDB)
    return Devmail(listen=listen, **kw)


def tls_client_context():
    """An SSL context that accepts any certificate (tests that check
    verification load <data_dir>/tls/ca.pem instead)."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def imap_client(dm, mode="plain", login=True, account=RECIPE_ACCOUNT, password=RECIPE_PASSWORD, timeout=15):
    """An imaplib client on dm: mode "plain", "starttls" or "imaps"."""
    import imaplib
    if mode == "imaps":
        m = imaplib.IMAP4_SSL("127.0.0.1", dm.ports["imaps"], ssl_context=tls_client_context(), timeout=timeout)
    else:
        m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=timeout)
        if mode == "starttls":
            m.starttls(ssl_context=tls_client_context())
    if login:
        m.login(account, password)
    return m


def send_mail(dm, msg, rcpt="someone@example.com", sender="auser@example.com"):
    """Deliver one message (str or bytes) over SMTP; returns when stored."""
    import smtplib
    with smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=15) as c:
        c.sendmail(sender, [rcpt], msg)


_maildir_seq = [0]


def write_maildir_file(maildir, data, sub="new", info=None, mtime=None):
    """Drop a message file into a Maildir as another program would
    (written in tmp/, renamed into new/ or cur/). info is the part after
    ":2," (e.g. "S"); None gives no info suffix. Returns the final path."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)
    _maildir_seq[0] += 1
    unique = "%d.M%dP%dQ%d.e2ehost,S=%d" % (time.time(), int(time.time() * 1e6) % 1000000, os.getpid(),
                                           _maildir_seq[0], len(data))
    tmp = os.path.join(maildir, "tmp", unique)
    with open(tmp, "wb") as f:
        f.write(data)
    name = unique if info is None else unique + ":2," + info
    path = os.path.join(maildir, sub, name)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.rename(tmp, path)
    return path


class ImapRaw(LineSocket):
    """A line-level IMAP client for exact response checks.

        c = ImapRaw(dm.ports["imap"])
        c.greeting                    # "* OK [CAPABILITY ...] ..."
        untagged, tagged = c.cmd("LOGIN a b")   # tag chosen by the client
        # untagged: list of bytes responses (literals inlined, CRLF kept);
        # tagged: the tagged line as str without CRLF ("t1 OK ...")
    """

    CLOSE_ERRORS = (OSError,)  # TLS sessions may end with an SSL error

    def __init__(self, port, host="127.0.0.1", tls=False, timeout=10.0, read_greeting=True):
        super().__init__(port, host, timeout, tls)
        self.n = 0
        self.greeting = self.read_response().decode("utf-8", "replace").rstrip("\r\n") if read_greeting else None

    def read_response(self):
        """One whole response line with its literals inlined (bytes)."""
        import re
        out = b""
        while True:
            line = self.read_line()
            out += line
            m = re.search(rb"\{(\d+)\}\r?\n$", line)
            if not m:
                return out
            out += self.read_exact(int(m.group(1)))

    @classmethod
    def logged_in(cls, test, port, select=None, user="all@example.com", password="password"):
        """A session logged in (and with select, a mailbox selected) for a
        unittest test; closed at the test's cleanup."""
        c = cls(port)
        test.addCleanup(c.close)
        u, t = c.cmd("LOGIN %s %s" % (user, password))
        test.assertIn(" OK", t)
        if select:
            u, t = c.cmd("SELECT " + select)
            test.assertIn(" OK", t)
        return c

    def next_tag(self):
        self.n += 1
        return "t%d" % self.n

    def read_until_tagged(self, tag):
        untagged = []
        while True:
            r = self.read_response()
            if r.startswith(tag.encode() + b" "):
                return untagged, r.decode("utf-8", "replace").rstrip("\r\n")
            untagged.append(r)

    def cmd(self, line, tag=None):
        tag = tag or self.next_tag()
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(tag.encode() + b" " + line + b"\r\n")
        return self.read_until_tagged(tag)

    def starttls(self):
        untagged, tagged = self.cmd("STARTTLS")
        if " OK" in tagged:
            self.sock = tls_client_context().wrap_socket(self.sock)
        return tagged


def devmail_check(dm, *args, timeout=90):
    """Run `devmail check ARGS` on dm's data directory (while it runs)."""
    return subprocess.run([BIN, "check", *args, "--data-dir", dm.data_dir], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
