"""IMAP SORT (RFC 5256), SORT=DISPLAY (RFC 5957), ESORT (RFC 5267) and
THREAD=REFERENCES / THREAD=ORDEREDSUBJECT (RFC 5256), UID forms included.

Messages are appended with chosen internal dates, Date headers (zones and
a missing one), RFC 2047 names and subjects, list tags and Re:/Fwd:
markers, References and In-Reply-To, so that every sort key and every
threading rule decides something. The keys come from the index: a test
rewrites a message file in place and the order does not change, another
drops the sort_keys table (an index from before it) and restarts, a third
runs `devmail reindex`.
"""
import os
import re
import sqlite3
import subprocess
import unittest

from harness import BIN, ImapRaw, maildir_files, recipe_devmail, send_mail

DAY = "Jan 2023"


def append_all(c, box, msgs):
    """APPEND (internal date, bytes) pairs to box over ImapRaw c, checked."""
    for date, data in msgs:
        tag = c.next_tag()
        c.send(('%s APPEND %s "%s" {%d}\r\n' % (tag, box, date, len(data))).encode())
        line = c.read_line()
        assert line.startswith(b"+"), line
        c.send(data + b"\r\n")
        u, t = c.read_until_tagged(tag)
        assert " OK" in t, (u, t)


def rfc822(headers, body):
    lines = ["%s: %s" % (k, v) for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


# (internal date, headers, body) of the SORT mailbox, in mailbox order
SORT_MSGS = [
    ("05-Jan-2023 10:00:00 +0000",
     [("From", '"Zed" <b@x.org>'), ("To", "c@x.org"), ("Cc", "a@x.org"), ("Subject", "Re: beta"),
      ("Date", "Mon, 02 Jan 2023 10:00:00 +0000")], "x" * 100),
    ("03-Jan-2023 10:00:00 +0000",
     [("From", "a@x.org"), ("To", '"Anna" <z@x.org>'), ("Subject", "alpha"),
      # written on Jan 1, but 04:00 on Jan 2 in UTC: before message 1
      ("Date", "Sun, 01 Jan 2023 23:00:00 -0500")], "x" * 200),
    ("01-Jan-2023 10:00:00 +0000",
     [("From", "=?utf-8?q?=C3=89mile?= <m@x.org>"), ("To", "b@x.org"),
      ("Subject", "=?utf-8?q?=5Blist=5D_Fwd:_Gamma?=")], "x" * 10),  # no Date: INTERNALDATE
    ("02-Jan-2023 10:00:00 +0000",
     [("From", '"bob" <c@x.org>'), ("To", "=?iso-8859-1?q?=C9mile?= <e@x.org>"), ("Cc", "d@x.org"),
      ("Subject", "Beta (fwd)"), ("Date", "Tue, 03 Jan 2023 10:00:00 +0000")], "x" * 1000),
]

# (Message-ID, extra headers, subject, Date hour) of the THREAD mailbox
THREAD_MSGS = [
    ("a@x", [], "Plan", 9),
    ("b@x", [("References", "<a@x>")], "Re: Plan", 11),
    ("c@x", [("In-Reply-To", "<a@x>")], "Re: Plan", 10),
    ("d@x", [("References", "<a@x> <b@x>")], "Re: Plan", 12),
    ("e@x", [], "Lunch", 8),
    ("f@x", [], "Re: Lunch", 13),  # no references: joins "Lunch" by subject
    ("g@x", [("References", "<missing@x>")], "Orphan", 14),
    ("h@x", [("References", "<missing@x>")], "Re: Orphan", 15),
]


class ImapSort(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # the messages are dated 2023: the default 7-day retention would
        # expunge them a second after start, in the middle of the tests
        cls.dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"]).start()
        c = ImapRaw(cls.dm.ports["imap"])
        try:
            _, t = c.cmd("LOGIN all@example.com password")
            assert " OK" in t, t
            for box, msgs in (("Sorts", cls.sort_messages()), ("Threads", cls.thread_messages())):
                _, t = c.cmd("CREATE " + box)
                assert " OK" in t, t
                append_all(c, box, msgs)
        finally:
            c.close()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    @staticmethod
    def sort_messages():
        return [(d, rfc822(h, b)) for d, h, b in SORT_MSGS]

    @staticmethod
    def thread_messages():
        out = []
        for mid, extra, subject, hour in THREAD_MSGS:
            h = [("From", "p@x.org"), ("Subject", subject), ("Message-ID", "<%s>" % mid),
                 ("Date", "Sun, 01 Jan 2023 %02d:00:00 +0000" % hour)] + extra
            out.append(("01-Jan-2023 00:00:00 +0000", rfc822(h, "text")))
        return out

    def session(self, box):
        return ImapRaw.logged_in(self, self.dm.ports["imap"], select=box)

    def one(self, c, line, prefix):
        """Run line; the one untagged response starting with prefix, as str."""
        u, t = c.cmd(line)
        self.assertRegex(t, r"^t\d+ OK", (line, u, t))
        hits = [r.decode().rstrip("\r\n") for r in u if r.startswith(prefix.encode())]
        self.assertEqual(len(hits), 1, (line, u))
        return hits[0]

    def sort(self, c, args, uid=False):
        line = self.one(c, ("UID " if uid else "") + "SORT " + args, "* SORT")
        return line[len("* SORT"):].split()

    def test_capabilities(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        caps = self.one(c, "CAPABILITY", "* CAPABILITY").split()
        for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"):
            self.assertIn(cap, caps)

    def test_every_sort_key(self):
        c = self.session("Sorts")
        want = {
            "SUBJECT": "2 1 4 3",        # ALPHA, BETA (Re:), BETA ((fwd)), GAMMA ([list] Fwd:)
            "DATE": "3 2 1 4",           # 3 has no Date: its INTERNALDATE; 2 is earlier in UTC
            "ARRIVAL": "3 4 2 1",
            "SIZE": "3 1 2 4",
            "FROM": "2 1 4 3",           # a, b, c, m
            "TO": "3 1 4 2",             # b, c, e, z
            "CC": "2 3 1 4",             # none, none, a, d
            "DISPLAYFROM": "2 4 3 1",    # a@x.org, bob, Émile, Zed
            "DISPLAYTO": "2 3 1 4",      # Anna, b@x.org, c@x.org, Émile
            "REVERSE SUBJECT": "3 1 4 2",  # equal keys stay in mailbox order
            "SUBJECT REVERSE SIZE": "2 4 1 3",
            "REVERSE DATE": "4 1 2 3",
        }
        for crit, order in want.items():
            self.assertEqual(self.sort(c, "(%s) UTF-8 ALL" % crit), order.split(), crit)

    def test_search_criteria_and_uid_sort(self):
        c = self.session("Sorts")
        self.assertEqual(self.sort(c, "(REVERSE DATE) US-ASCII SUBJECT beta"), ["4", "1"])
        self.assertEqual(self.sort(c, "(DATE) UTF-8 2:3"), ["3", "2"])
        self.assertEqual(self.sort(c, "(DATE) UTF-8 NOT ALL"), [])
        self.assertEqual(self.sort(c, "(SUBJECT) UTF-8 ALL", uid=True), ["2", "1", "4", "3"])

    def test_sequence_numbers_after_expunge(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = c.cmd("CREATE SortsX")
        self.assertIn(" OK", t)
        append_all(c, "SortsX", self.sort_messages())
        self.assertIn(b"* 4 EXISTS\r\n", c.cmd("SELECT SortsX")[0])
        c.cmd("STORE 2 +FLAGS (\\Deleted)")
        u, t = c.cmd("EXPUNGE")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        # UIDs 1, 3, 4 are now sequence numbers 1, 2, 3
        self.assertEqual(self.sort(c, "(SUBJECT) UTF-8 ALL", uid=True), ["1", "4", "3"])
        self.assertEqual(self.sort(c, "(SUBJECT) UTF-8 ALL"), ["1", "3", "2"])

    def test_esort_return_options(self):
        c = self.session("Sorts")
        line = self.one(c, "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) MIN 3 MAX 4 ALL 3,2,1,4 COUNT 4$')
        line = self.one(c, "UID SORT RETURN () (ARRIVAL) UTF-8 ALL", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) UID ALL 3:4,2,1$')
        line = self.one(c, "SORT RETURN (COUNT MIN) (SIZE) UTF-8 1:2", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) MIN 1 COUNT 2$')
        line = self.one(c, "SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 1:4", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) ALL 1:2,4,3$')
        line = self.one(c, "SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 NOT ALL", "* ESEARCH")
        self.assertRegex(line, r'^\* ESEARCH \(TAG "t\d+"\) COUNT 0$')

    def test_errors(self):
        c = self.session("Sorts")
        _, t = c.cmd("SORT (DATE) KOI8-R ALL")
        self.assertRegex(t, r"^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]")
        for bad in ("SORT (NAME) UTF-8 ALL", "SORT DATE UTF-8 ALL", "SORT () UTF-8 ALL", "SORT (REVERSE) UTF-8 ALL",
                    "SORT (DATE) UTF-8", "SORT (DATE) UTF-8 NOSUCHKEY", "SORT RETURN (PARTIAL 1) (DATE) UTF-8 ALL",
                    "THREAD FOO UTF-8 ALL", "THREAD REFERENCES UTF-8", "SORT (DATE) UTF-8 CHARSET UTF-8 ALL"):
            _, t = c.cmd(bad)
            self.assertRegex(t, r"^t\d+ BAD", bad)
        _, t = c.cmd("THREAD REFERENCES ISO-2022-JP ALL")
        self.assertRegex(t, r"^t\d+ NO \[BADCHARSET")
        c2 = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = c2.cmd("SORT (DATE) UTF-8 ALL")
        self.assertRegex(t, r"^t\d+ BAD", "SORT needs a selected mailbox")

    def thread(self, c, args, uid=False):
        line = self.one(c, ("UID " if uid else "") + "THREAD " + args, "* THREAD")
        return line[len("* THREAD "):] if line != "* THREAD" else ""

    def test_thread_references(self):
        c = self.session("Threads")
        # 1 <- 3 (In-Reply-To), 1 <- 2 <- 4 (References); 6 joins 5 by its
        # "Re:" subject; 7 and 8 share a missing parent: a dummy keeps them
        self.assertEqual(self.thread(c, "REFERENCES UTF-8 ALL"), "(5 6)(1 (3)(2 4))((7)(8))")
        self.assertEqual(self.thread(c, "REFERENCES UTF-8 NOT SUBJECT lunch"), "(1 (3)(2 4))((7)(8))")
        self.assertEqual(self.thread(c, "REFERENCES UTF-8 NOT ALL"), "")

    def test_thread_orderedsubject(self):
        c = self.session("Threads")
        self.assertEqual(self.thread(c, "ORDEREDSUBJECT UTF-8 ALL"), "(5 6)(1 (3)(2)(4))(7 8)")
        self.assertEqual(self.thread(c, "ORDEREDSUBJECT US-ASCII 1:3", uid=True), "(1 (3)(2))")

    def test_uid_thread_after_expunge(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = c.cmd("CREATE ThreadsX")
        self.assertIn(" OK", t)
        append_all(c, "ThreadsX", self.thread_messages())
        self.assertIn(b"* 8 EXISTS\r\n", c.cmd("SELECT ThreadsX")[0])
        c.cmd("STORE 5 +FLAGS (\\Deleted)")
        self.assertIn(b"* 5 EXPUNGE\r\n", c.cmd("EXPUNGE")[0])
        self.assertEqual(self.thread(c, "REFERENCES UTF-8 ALL"), "(1 (3)(2 4))(5)((6)(7))")
        self.assertEqual(self.thread(c, "REFERENCES UTF-8 ALL", uid=True), "(1 (3)(2 4))(6)((7)(8))")

    def test_other_session_expunged(self):
        # session 2 expunges message 2; session 1 has not been told yet:
        # SORT and THREAD answer for the messages still stored, in session
        # 1's numbering, and the EXPUNGE waits for a command that may send it
        c1 = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = c1.cmd("CREATE ThreadsY")
        self.assertIn(" OK", t)
        append_all(c1, "ThreadsY", self.thread_messages())
        self.assertIn(b"* 8 EXISTS\r\n", c1.cmd("SELECT ThreadsY")[0])
        c2 = self.session("ThreadsY")
        c2.cmd("STORE 2 +FLAGS (\\Deleted)")
        self.assertIn(b"* 2 EXPUNGE\r\n", c2.cmd("EXPUNGE")[0])
        u, t = c1.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertRegex(t, r"^t\d+ OK")
        self.assertIn(b"* THREAD (5 6)(1 (3)(4))((7)(8))\r\n", u)
        self.assertNotIn(b"* 2 EXPUNGE\r\n", u)
        u, t = c1.cmd("SORT (DATE) UTF-8 ALL")
        self.assertIn(b"* SORT 5 1 3 4 6 7 8\r\n", u)
        u, t = c1.cmd("NOOP")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        self.assertEqual(self.thread(c1, "REFERENCES UTF-8 ALL"), "(4 5)(1 (2)(3))((6)(7))")

    def test_keys_come_from_the_index(self):
        # a message file rewritten in place (its directory does not change,
        # so no resync): SORT and THREAD still answer from what was indexed
        dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"]).start()
        self.addCleanup(dm.__exit__, None, None, None)
        c = ImapRaw.logged_in(self, dm.ports["imap"])
        append_all(c, "INBOX", self.sort_messages())
        self.one(c, "SELECT INBOX", "* OK [UIDVALIDITY")
        maildir = os.path.join(dm.data_dir, "example.com", "all", "Maildir")
        files = sorted(maildir_files(maildir))
        self.assertEqual(len(files), 4)
        for f in files:
            with open(f, "r+b") as fp:
                data = fp.read()
                fp.seek(0)
                fp.write(re.sub(rb"(?m)^(Subject|From|Date): .*$", b"\\1: zzz", data))
                fp.truncate()
        self.assertEqual(self.sort(c, "(SUBJECT) UTF-8 ALL"), ["2", "1", "4", "3"])
        self.assertEqual(self.sort(c, "(DISPLAYFROM) UTF-8 ALL"), ["2", "4", "3", "1"])
        self.assertEqual(self.sort(c, "(DATE) UTF-8 ALL"), ["3", "2", "1", "4"])


class SortKeysOtherPaths(unittest.TestCase):
    """Keys of mail delivered over SMTP and of messages COPY'd or MOVE'd."""

    def test_smtp_delivery_copy_and_move(self):
        dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"]).start()
        self.addCleanup(dm.__exit__, None, None, None)
        for mid, extra, subject, hour in THREAD_MSGS:
            head = "".join("%s: %s\r\n" % kv for kv in extra)
            send_mail(dm, ("From: p@x.org\r\nTo: all@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
                           "Date: Sun, 01 Jan 2023 %02d:00:00 +0000\r\n%s\r\ntext\r\n") % (subject, mid, hour, head),
                      rcpt="all@example.com")
        c = ImapRaw.logged_in(self, dm.ports["imap"], select="INBOX")
        u, t = c.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"* THREAD (5 6)(1 (3)(2 4))((7)(8))\r\n", u)
        u, t = c.cmd("SORT (DATE) UTF-8 ALL")
        self.assertIn(b"* SORT 5 1 3 2 4 6 7 8\r\n", u)
        for cmd in ("CREATE Copied", "CREATE Moved", "COPY 1:4 Copied", "MOVE 5:8 Moved", "SELECT Copied"):
            _, t = c.cmd(cmd)
            self.assertIn(" OK", t, cmd)
        u, t = c.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"* THREAD (1 (3)(2 4))\r\n", u)
        _, t = c.cmd("SELECT Moved")
        u, t = c.cmd("SORT (REVERSE SUBJECT) UTF-8 ALL")
        self.assertIn(b"* SORT 3 4 1 2\r\n", u)  # ORPHAN ORPHAN LUNCH LUNCH
        u, t = c.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"* THREAD (1 2)((3)(4))\r\n", u)


class SortKeysMigration(unittest.TestCase):
    """An index from before the sort columns, and `devmail reindex`."""

    def start_with_messages(self):
        dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"]).start()
        c = ImapRaw.logged_in(self, dm.ports["imap"])
        append_all(c, "INBOX", ImapSort.sort_messages() + ImapSort.thread_messages())
        c.close()
        return dm

    def check(self, dm):
        # reindexing gives UIDs in file name order: compare by content
        c = ImapRaw.logged_in(self, dm.ports["imap"], select="INBOX")
        u, t = c.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])")
        names = {}
        for r in u:
            seq = int(re.match(rb"\* (\d+) FETCH", r).group(1))
            m = re.search(rb"Message-ID: <([^@]*)@", r)
            names[seq] = m.group(1).decode() if m else re.search(rb"Subject: ([^\r]*)", r).group(1).decode()
        self.assertEqual(len(names), 12)
        u, t = c.cmd("SORT (DISPLAYFROM) UTF-8 NOT HEADER Message-ID @x")
        order = [names[int(n)] for n in re.match(rb"\* SORT (.*)\r\n", u[0]).group(1).split()]
        self.assertEqual(order, ["alpha", "Beta (fwd)", "=?utf-8?q?=5Blist=5D_Fwd:_Gamma?=", "Re: beta"])
        u, t = c.cmd("THREAD REFERENCES UTF-8 HEADER Message-ID @x")
        threads = re.sub(rb"\d+", lambda m: names[int(m.group(0))].encode(), u[0])
        self.assertEqual(threads, b"* THREAD (e f)(a (c)(b d))((g)(h))\r\n")

    def test_index_without_sort_keys(self):
        dm = self.start_with_messages()
        self.addCleanup(dm.__exit__, None, None, None)
        dm.stop()
        db = sqlite3.connect(os.path.join(dm.data_dir, "index.sqlite"))
        db.execute("DROP TABLE sort_keys")
        db.commit()
        db.close()
        dm.start()
        self.check(dm)
        with open(dm.log_path, "rb") as f:
            self.assertIn(b"SORT/THREAD keys computed for 12 messages", f.read())

    def test_reindex(self):
        dm = self.start_with_messages()
        self.addCleanup(dm.__exit__, None, None, None)
        dm.stop()
        r = subprocess.run([BIN, "reindex", "--data-dir", dm.data_dir], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"reindexed 12 messages", r.stdout)
        dm.start()
        self.check(dm)


if __name__ == "__main__":
    unittest.main()
