"""Slow clients: a command line, request head or message body must arrive
within slow_client_timeout of its first byte, plus one second per
min_data_rate bytes (Apache mod_reqtimeout's rule). A client dripping one
byte at a time is disconnected with the protocol's timeout reply; idle
connections between commands and fast clients are not affected. The
issue's attack (every connection of a protocol held by drippers) locks
new clients out for at most the timeout."""
import base64
import re
import socket
import time
import unittest

from harness import LineSocket, recipe_devmail

TIMEOUT_S = 2
ARGS = ["--slow-client-timeout", "%ds" % TIMEOUT_S, "--min-data-rate", "1024", "--http-admin-users", "all@example.com"]


def drip(sock, data, every=0.3, limit=20.0):
    """Send data a byte at a time; return seconds until the server closed
    (or limit), and what it answered meanwhile."""
    t0 = time.monotonic()
    got = b""
    sock.settimeout(every)
    for i in range(10 ** 6):
        if time.monotonic() - t0 > limit:
            break
        try:
            sock.sendall(data[i % len(data):i % len(data) + 1])
        except OSError:
            break
        try:
            c = sock.recv(4096)
            if not c:
                break
            got += c
        except socket.timeout:
            pass
        except OSError:
            break
    return time.monotonic() - t0, got


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap", "pop3", "http"),
                                args=ARGS + ["--smtp-max-connections", "4"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def connect(self, proto):
        s = socket.create_connection(("127.0.0.1", self.dm.ports[proto]), timeout=5)
        self.addCleanup(s.close)
        if proto != "http":
            s.recv(4096)  # greeting
        return s

    def assert_dropped(self, elapsed, got, reply):
        self.assertIn(reply, got)
        # the timeout plus the few bytes' allowance, and some slack for a loaded box
        self.assertGreaterEqual(elapsed, TIMEOUT_S - 0.5)
        self.assertLess(elapsed, TIMEOUT_S + 6)

    def test_smtp_command_line(self):
        elapsed, got = drip(self.connect("smtp"), b"EHLO a-very-slow-client.example\r\n"[:-2])
        self.assert_dropped(elapsed, got, b"421 4.4.2")

    def test_smtp_body(self):
        s = self.connect("smtp")
        f = s.makefile("rb")
        for line in (b"EHLO x", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"):
            s.sendall(line + b"\r\n")
            while True:
                r = f.readline()
                if r[3:4] != b"-":
                    break
        self.assertTrue(r.startswith(b"354"), r)
        before = len(self.dm.read_messages("all@example.com"))
        elapsed, got = drip(s, b"Subject: slow\r\n\r\nbody")
        self.assert_dropped(elapsed, got, b"421 4.4.2")
        self.assertEqual(len(self.dm.read_messages("all@example.com")), before)
        cred = base64.b64encode(b"all@example.com:password").decode()
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.dm.ports["http"],
                                     headers={"Authorization": "Basic " + cred})
        text = urllib.request.urlopen(req, timeout=10).read().decode()
        n = int(re.search(r"^devmail_slow_clients_closed_total (\d+)$", text, re.M).group(1))
        self.assertGreaterEqual(n, 1)

    def test_imap_pop3_http(self):
        elapsed, got = drip(self.connect("imap"), b"a LOGIN all@example.com password")
        self.assert_dropped(elapsed, got, b"* BYE")
        elapsed, got = drip(self.connect("pop3"), b"USER all@example.com")
        self.assert_dropped(elapsed, got, b"-ERR")
        elapsed, got = drip(self.connect("http"), b"GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n")
        self.assert_dropped(elapsed, got, b"HTTP/1.1 408")
        # a request head, then a body that never comes
        s = self.connect("http")
        cred = base64.b64encode(b"all@example.com:password")
        s.sendall(b"POST /api/v1/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Authorization: Basic " + cred + b"\r\nContent-Length: 100\r\n\r\n")
        elapsed, got = drip(s, b" ")
        self.assert_dropped(elapsed, got, b"HTTP/1.1 408")

    def test_idle_and_fast_clients_stay(self):
        # idle between commands: only the idle timeout applies
        c = LineSocket(self.dm.ports["imap"])
        self.addCleanup(c.close)
        c.read_line()
        time.sleep(TIMEOUT_S + 1.5)
        c.send(b"a NOOP\r\n")
        self.assertTrue(c.read_line().startswith(b"a OK"))
        # a fast 2 MB body is fine
        import smtplib
        body = ("Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 2000).encode()
        with smtplib.SMTP("127.0.0.1", self.dm.ports["smtp"], timeout=30) as s:
            s.sendmail("a@example.com", ["b@example.com"], body)

    def test_drippers_lock_out_for_the_timeout_at_most(self):
        # smtp_max_connections 4: four drippers that started transactions
        # (not evictable) hold SMTP; they are gone after the timeout
        socks = []
        for _ in range(4):
            s = self.connect("smtp")
            s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
            time.sleep(0.1)
            s.recv(4096)
            s.sendall(b"RC")  # an unfinished command line
            socks.append(s)
        t0 = time.monotonic()
        greeted = None
        while time.monotonic() - t0 < TIMEOUT_S + 8:
            c = socket.create_connection(("127.0.0.1", self.dm.ports["smtp"]), timeout=5)
            line = c.recv(4096)
            c.close()
            if line.startswith(b"220"):
                greeted = time.monotonic() - t0
                break
            time.sleep(0.2)
        self.assertIsNotNone(greeted)
        self.assertLess(greeted, TIMEOUT_S + 6)


if __name__ == "__main__":
    unittest.main()
