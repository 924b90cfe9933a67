"""A large INBOX stays fast: SELECT, UID FETCH 1:* (FLAGS) and a SEARCH
on SUBJECT each answer well under a second.

The messages are written straight into the Maildir before devmail starts
(fast), so the store indexes them at start. E2E_LARGE_N overrides the
count (default 20,000; issue 3 names 100,000 as the target).
"""
import os
import re
import time
import unittest

from harness import SLOW, ImapRaw, recipe_devmail, wait_for

N = int(os.environ.get("E2E_LARGE_N", "20000"))
LIMIT = 1.0  # seconds per command


def fill_maildir(md, n):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    base = int(time.time()) - n  # recent: devmail's 7-day retention must not expunge them
    for i in range(n):
        data = ("From: Sender %d <s%d@example.net>\nTo: all@example.com\nSubject: Large mailbox message %d%s\n"
                "Date: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <large.%d@example.net>\n\n"
                "Body of message %d.\n") % (i % 97, i % 97, i, " needle" if i % 5000 == 1234 else "", i, i)
        name = "%d.M%dP1Q%d.bulk,S=%d:2,%s" % (base + i, i, i, len(data), "S" if i % 2 else "")
        path = os.path.join(md, "cur", name)
        with open(path, "w") as f:
            f.write(data)
        os.utime(path, (base + i, base + i))


class TestLargeMailbox(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("imap",))
        t0 = time.monotonic()
        fill_maildir(cls.dm.maildir("all@example.com"), N)
        t1 = time.monotonic()
        cls.dm.start()
        # what is timed is the commands on an indexed mailbox, not the
        # start-up indexing a SELECT would wait for (test_start_large.py)
        if not wait_for(lambda: "indexing at start done" in cls.dm.log_text(), timeout=120 * SLOW):
            cls.dm.__exit__(None, None, None)
            raise RuntimeError("the start-up indexing did not finish")
        print("\n    %d messages: written in %.2f s, devmail up (indexed) in %.2f s"
              % (N, t1 - t0, time.monotonic() - t1))

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def timed(self, c, cmd):
        t0 = time.monotonic()
        u, t = c.cmd(cmd)
        dt = time.monotonic() - t0
        print("    %-40s %.3f s" % (cmd, dt))
        self.assertIn(" OK", t)
        return u, dt

    def test_select_fetch_search(self):
        c = ImapRaw(self.dm.ports["imap"], timeout=30)
        self.addCleanup(c.close)
        c.cmd("LOGIN all@example.com password")
        u, dt = self.timed(c, "SELECT INBOX")
        self.assertIn(b"* %d EXISTS\r\n" % N, u)
        self.assertLess(dt, LIMIT)
        u, dt = self.timed(c, "UID FETCH 1:* (FLAGS)")
        self.assertEqual(len(u), N)
        uids = [int(re.search(rb"UID (\d+)", x).group(1)) for x in (u[0], u[-1])]
        self.assertGreater(uids[0], 0)
        self.assertLess(dt, LIMIT)
        u, dt = self.timed(c, "SEARCH SUBJECT needle")
        self.assertEqual(len(u[0].split()) - 2, len([i for i in range(N) if i % 5000 == 1234]))
        self.assertLess(dt, LIMIT)
        u, dt = self.timed(c, "UID SEARCH UNSEEN")
        self.assertEqual(len(u[0].split()) - 2, (N + 1) // 2)
        self.assertLess(dt, LIMIT)
        u, dt = self.timed(c, "FETCH %d:* (UID FLAGS ENVELOPE)" % (N - 49))
        self.assertEqual(len(u), 50)
        self.assertLess(dt, LIMIT)


if __name__ == "__main__":
    unittest.main()
