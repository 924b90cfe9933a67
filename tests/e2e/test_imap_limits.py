"""IMAP literals are bounded per command, all literals together, and
before login only small ones are taken: one hostile connection cannot make
the server hold more than a message's worth of its bytes.
"""
import socket
import time
import unittest

from harness import ImapRaw, recipe_devmail


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TestLiteralLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap"),
                                args=["--imap-preauth-max-literal-size", "4096",
                                      "--imap-max-literal-size", "100000"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def raw(self):
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        return c

    def test_small_literals_log_in(self):
        c = self.raw()
        c.send(b"a LOGIN {15}\r\n")
        self.assertTrue(c.read_line().startswith(b"+ "))
        c.send(b"all@example.com {8+}\r\npassword\r\n")
        self.assertTrue(c.read_response().startswith(b"a OK"))

    def test_preauth_large_sync_literal_is_refused(self):
        c = self.raw()
        c.send(b"a LOGIN {100000}\r\n")
        self.assertTrue(c.read_line().startswith(b"a NO [TOOBIG]"))
        # the session goes on
        u, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)

    def test_preauth_large_nonsync_literal_disconnects(self):
        c = self.raw()
        c.send(b"a LOGIN {10000000+}\r\n")
        out = c.read_until_close(timeout=10)
        self.assertIn(b"* BYE", out)

    def test_preauth_many_literals_in_one_command(self):
        # each literal is small, together they pass the pre-login budget
        c = self.raw()
        c.send(b"a LOGIN {3000+}\r\n" + b"x" * 3000 + b" {3000+}\r\n")
        out = c.read_until_close(timeout=10)
        self.assertIn(b"* BYE", out)

    def test_total_of_literals_after_login(self):
        c = self.raw()
        u, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)
        u, t = c.cmd("SELECT INBOX")
        # synchronizing: the literal that passes the total gets NO [TOOBIG]
        c.send(b"b SEARCH TEXT {60000}\r\n")
        self.assertTrue(c.read_line().startswith(b"+ "))
        c.send(b"y" * 60000 + b" TEXT {60000}\r\n")
        self.assertTrue(c.read_line().startswith(b"b NO [TOOBIG]"))
        u, t = c.cmd("NOOP")
        self.assertIn(" OK", t)
        # within the total: fine
        c.send(b"c SEARCH TEXT {40000+}\r\n" + b"y" * 40000 + b" TEXT {40000+}\r\n" + b"z" * 40000 + b"\r\n")
        line = c.read_response()
        while line.startswith(b"*"):
            line = c.read_response()
        self.assertTrue(line.startswith(b"c OK"), line)
        # non-synchronizing past the total: BYE, the bytes are not kept
        c.send(b"d SEARCH TEXT {60000+}\r\n" + b"y" * 60000 + b" TEXT {60000+}\r\n")
        out = c.read_until_close(timeout=10)
        self.assertIn(b"* BYE", out)

    def test_hostile_preauth_connection_stays_small(self):
        # the attack from the issue: an unauthenticated LOGIN with many
        # 10 MB non-synchronizing literals (300 MB of server memory before)
        pid = self.dm.proc.pid
        before = rss_kb(pid)
        s = socket.create_connection(("127.0.0.1", self.dm.ports["imap"]), timeout=10)
        s.recv(4096)
        s.sendall(b"a LOGIN {10000000+}\r\n")
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < 30 * 10000000:
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we want
        finally:
            s.close()
        time.sleep(0.2)
        grown = rss_kb(pid) - before
        self.assertLess(sent, 30 * 10000000, "the server took every byte")
        self.assertLess(grown, 20 * 1024, "server grew by %d KB" % grown)


if __name__ == "__main__":
    unittest.main()
