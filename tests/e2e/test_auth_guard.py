"""Failed logins are slowed per client address and per user, not only per
connection: parallel connections guessing passwords get no more checks
than one, beyond a burst they are refused unchecked, and a connection is
closed after auth_max_failures failures (IMAP, POP3, SMTP AUTH). HTTP
basic auth shares the same guard (429 when refused unchecked), and an
unauthenticated HTTP request's body is never read.
"""
import base64
import threading
import time
import unittest

from harness import ImapRaw, SmtpRaw, LineSocket, recipe_devmail

ARGS = ["--auth-failure-delay-ms", "200", "--auth-failure-max-delay", "1s", "--auth-max-failures", "3",
        "--smtp-auth", "optional"]


class TestAuthGuard(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap", "pop3", "http"), args=ARGS).start()
        self.addCleanup(self.dm.__exit__, None, None, None)

    def test_parallel_imap_guesses_are_bounded(self):
        results = []
        lock = threading.Lock()

        def guess(i):
            c = ImapRaw(self.dm.ports["imap"], timeout=20)
            try:
                u, t = c.cmd("LOGIN all@example.com wrong%d" % i)
                with lock:
                    results.append(t)
            finally:
                c.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        checked = [r for r in results if "[AUTHENTICATIONFAILED]" in r]
        refused = [r for r in results if "[UNAVAILABLE]" in r]
        self.assertEqual(len(checked) + len(refused), 40, results)
        # 1 s cap / 200 ms per failure: a burst of about 5, then no checks
        self.assertLessEqual(len(checked), 8, results)
        self.assertLess(elapsed, 10)
        # the right password works again once the backlog has drained
        time.sleep(2.5)
        c = ImapRaw(self.dm.ports["imap"])
        u, t = c.cmd("LOGIN all@example.com password")
        c.close()
        self.assertIn(" OK", t)

    def http_once(self, head, body=b"", timeout=20):
        s = LineSocket(self.dm.ports["http"], timeout=timeout)
        try:
            s.send(head + body)
            line = s.read_line()
            return int(line.split()[1])
        finally:
            s.close()

    def test_parallel_http_guesses_are_bounded(self):
        results = []
        lock = threading.Lock()

        def guess(i):
            cred = base64.b64encode(b"all@example.com:wrong%d" % i).decode()
            st = self.http_once(("GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\n"
                                 "\r\n" % cred).encode())
            with lock:
                results.append(st)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 40)
        self.assertEqual(set(results) - {401, 429}, set(), results)
        # the IMAP test's bound: a burst of about 5 checks, then refusals
        self.assertLessEqual(results.count(401), 8, results)
        time.sleep(2.5)
        cred = base64.b64encode(b"all@example.com:password").decode()
        st = self.http_once(("GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\n\r\n"
                             % cred).encode())
        self.assertEqual(st, 200)

    def test_http_body_is_not_read_before_login(self):
        # a 30 MB body announced without credentials: answered on the head
        t0 = time.monotonic()
        st = self.http_once(b"POST /api/v1/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 30000000\r\n\r\n", b"{", timeout=5)
        self.assertEqual(st, 401)
        self.assertLess(time.monotonic() - t0, 3)
        # with a wrong password: after the failure delay, still without the body
        cred = base64.b64encode(b"all@example.com:nope").decode()
        st = self.http_once(("POST /api/v1/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                             "Authorization: Basic %s\r\nContent-Length: 30000000\r\n\r\n" % cred).encode(),
                            b"{", timeout=5)
        self.assertIn(st, (401, 429))

    def test_imap_closes_after_max_failures(self):
        c = ImapRaw(self.dm.ports["imap"], timeout=20)
        self.addCleanup(c.close)
        for i in range(2):
            u, t = c.cmd("LOGIN all@example.com nope")
            self.assertIn(" NO ", t)
            time.sleep(1.2)
        c.send(b"x LOGIN all@example.com nope\r\n")
        out = c.read_until_close(timeout=10)
        self.assertIn(b"x NO ", out)
        self.assertIn(b"* BYE", out)

    def test_pop3_closes_after_max_failures(self):
        c = LineSocket(self.dm.ports["pop3"], timeout=20)
        self.addCleanup(c.close)
        self.assertTrue(c.read_line().startswith(b"+OK"))
        for i in range(2):
            c.send(b"USER all@example.com\r\n")
            c.read_line()
            c.send(b"PASS nope\r\n")
            self.assertTrue(c.read_line().startswith(b"-ERR"))
            time.sleep(1.2)
        c.send(b"USER all@example.com\r\nPASS nope\r\n")
        out = c.read_until_close(timeout=10)
        self.assertIn(b"-ERR", out)

    def test_smtp_auth_closes_after_max_failures(self):
        c = SmtpRaw(self.dm.smtp_port, timeout=20)
        self.addCleanup(c.close)
        c.cmd("EHLO x")
        bad = base64.b64encode(b"\0all@example.com\0nope").decode()
        for i in range(2):
            self.assertEqual(c.cmd("AUTH PLAIN " + bad)[0][:3], "535")
            time.sleep(1.2)
        c.send(("AUTH PLAIN %s\r\n" % bad).encode())
        out = c.read_until_close(timeout=10)
        self.assertIn(b"535", out)
        self.assertIn(b"421 4.7.0", out)


class TestMakeRoom(unittest.TestCase):
    """At a protocol's connection limit the oldest connection that has not
    logged in is closed so that a new client is answered (as Dovecot does
    with pre-login connections); logged-in sessions are never closed."""

    def test_imap_preauth_connections_make_room(self):
        with recipe_devmail(listen=("smtp", "imap"), args=["--imap-max-connections", "3"]) as dm:
            idle = [ImapRaw(dm.ports["imap"]) for _ in range(3)]
            fresh = ImapRaw(dm.ports["imap"], timeout=5)
            self.assertTrue(fresh.greeting.startswith("* OK"), fresh.greeting)
            self.assertIn(b"* BYE", idle[0].read_until_close(timeout=5))
            u, t = fresh.cmd("LOGIN all@example.com password")
            self.assertIn(" OK", t)
            for c in idle[1:]:
                u, t = c.cmd("LOGIN all@example.com password")
                self.assertIn(" OK", t)
            # three logged in: nobody makes room, the newcomer is refused
            late = ImapRaw(dm.ports["imap"], timeout=5, read_greeting=False)
            self.assertIn(b"* BYE", late.read_until_close(timeout=5))
            u, t = fresh.cmd("NOOP")
            self.assertIn(" OK", t)
            for c in idle + [fresh, late]:
                c.close()


if __name__ == "__main__":
    unittest.main()
