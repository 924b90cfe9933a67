"""IMAP SEARCH answers the same whichever way devmail evaluates it.

A program of keys the session's snapshot holds (flags, keywords, UIDs,
sequence numbers) reads no index row; one whose top-level flag keys leave
few candidates reads only their rows, by id; the others scan the mailbox.
Each case is checked against an answer computed here from what was
appended and stored, including a message another session expunged that
this session has not been told of yet (no hit, whatever the path), and
the same programs under SORT.
"""
import unittest

from harness import ImapRaw, recipe_devmail

N = 64
FLAGGED = {5, 17, 40}            # few: the by-id path
SEEN = set(range(1, N + 1, 2))   # half: the scan path


def message(i):
    return ("From: Sender %d <s%d@x.org>\r\nTo: all@example.com\r\nSubject: item %d %s\r\n"
            "Date: Mon, 02 Jan 2023 10:%02d:00 +0000\r\nMessage-ID: <%d@x.org>\r\n\r\nbody %d\r\n"
            % (i % 4, i % 4, i, "even" if i % 2 == 0 else "odd", i % 60, i, i)).encode()


def numbers(untagged, prefix):
    for r in untagged:
        if r.startswith(prefix):
            return [int(x) for x in r[len(prefix):].split()]
    raise AssertionError("no %r in %r" % (prefix, untagged))


class SearchPaths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # the messages are dated 2023: no retention during the test
        cls.dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"]).start()
        c = ImapRaw(cls.dm.ports["imap"])
        try:
            _, t = c.cmd("LOGIN all@example.com password")
            assert " OK" in t, t
            _, t = c.cmd("CREATE Paths")
            assert " OK" in t, t
            for i in range(1, N + 1):
                data = message(i)
                tag = c.next_tag()
                c.send(('%s APPEND Paths "02-Jan-2023 10:00:00 +0000" {%d}\r\n' % (tag, len(data))).encode())
                assert c.read_line().startswith(b"+")
                c.send(data + b"\r\n")
                _, t = c.read_until_tagged(tag)
                assert " OK" in t, t
            c.cmd("SELECT Paths")
            for f, msgs in (("\\Flagged", FLAGGED), ("\\Seen", SEEN)):
                _, t = c.cmd("STORE %s +FLAGS.SILENT (%s)" % (",".join(map(str, sorted(msgs))), f))
                assert " OK" in t, t
            _, t = c.cmd("STORE 3,40 +FLAGS.SILENT (tagged)")
            assert " OK" in t, t
        finally:
            c.close()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def search(self, c, program, uid=False):
        u, t = c.cmd(("UID " if uid else "") + "SEARCH " + program)
        self.assertRegex(t, r"^t\d+ OK", (program, t))
        return numbers(u, b"* SEARCH")

    def expect(self, keep):
        return [i for i in range(1, N + 1) if keep(i)]

    def test_each_path(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"], select="Paths")
        subject_even = lambda i: i % 2 == 0  # noqa: E731
        cases = [
            # snapshot only: no index row read
            ("FLAGGED", lambda i: i in FLAGGED),
            ("NOT SEEN NOT FLAGGED", lambda i: i not in SEEN and i not in FLAGGED),
            ("KEYWORD tagged", lambda i: i in (3, 40)),
            ("OR FLAGGED 60:*", lambda i: i in FLAGGED or i >= 60),
            # few candidates: rows read by id
            ("FLAGGED SUBJECT even", lambda i: i in FLAGGED and subject_even(i)),
            ("FLAGGED FROM s1@x.org", lambda i: i in FLAGGED and i % 4 == 1),
            ("KEYWORD tagged SENTON 2-Jan-2023", lambda i: i in (3, 40)),
            ("OR ANSWERED FLAGGED SINCE 1-Jan-2023", lambda i: i in FLAGGED),
            ("FLAGGED NOT SUBJECT even", lambda i: i in FLAGGED and not subject_even(i)),
            # many candidates or none given: the mailbox is scanned
            ("SEEN SUBJECT even", lambda i: i in SEEN and subject_even(i)),
            ("UNSEEN SUBJECT odd", lambda i: i not in SEEN and not subject_even(i)),
            ("SUBJECT \"item 1\"", lambda i: str(i).startswith("1")),
            ("OR FLAGGED SUBJECT \"item 2\"", lambda i: i in FLAGGED or str(i).startswith("2")),
            ("NOT FLAGGED FROM s2@x.org", lambda i: i not in FLAGGED and i % 4 == 2),
        ]
        for program, keep in cases:
            self.assertEqual(self.search(c, program), self.expect(keep), program)
            # UIDs are 1..N in a fresh mailbox
            self.assertEqual(self.search(c, program, uid=True), self.expect(keep), "UID " + program)
            # one internal date for all: equal keys keep the mailbox order
            u, t = c.cmd("SORT (ARRIVAL) UTF-8 " + program)
            self.assertRegex(t, r"^t\d+ OK")
            self.assertEqual(numbers(u, b"* SORT"), self.expect(keep), "SORT " + program)

    def test_message_expunged_by_another_session(self):
        # session 1 still numbers message 17 (flagged, odd); session 2
        # expunges it: no path answers it, and numbering stays session 1's
        c1 = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = c1.cmd("CREATE Gone")
        self.assertIn(" OK", t)
        _, t = c1.cmd("SELECT Paths")
        _, t = c1.cmd("COPY 1:%d Gone" % N)
        self.assertIn(" OK", t)
        u, t = c1.cmd("SELECT Gone")
        self.assertIn(b"* %d EXISTS\r\n" % N, u)
        c2 = ImapRaw.logged_in(self, self.dm.ports["imap"], select="Gone")
        c2.cmd("STORE 17 +FLAGS.SILENT (\\Deleted)")
        u, _ = c2.cmd("EXPUNGE")
        self.assertIn(b"* 17 EXPUNGE\r\n", u)
        left = FLAGGED - {17}
        self.assertEqual(self.search(c1, "FLAGGED"), sorted(left))
        self.assertEqual(self.search(c1, "ALL"), [i for i in range(1, N + 1) if i != 17])
        self.assertEqual(self.search(c1, "FLAGGED SUBJECT item"), sorted(left))
        self.assertEqual(self.search(c1, "SEEN SUBJECT odd"),
                         [i for i in range(1, N + 1) if i in SEEN and i % 2 == 1 and i != 17])
        u, _ = c1.cmd("NOOP")
        self.assertIn(b"* 17 EXPUNGE\r\n", u)
        self.assertEqual(self.search(c1, "FLAGGED SUBJECT item"), [i - 1 if i > 17 else i for i in sorted(left)])


if __name__ == "__main__":
    unittest.main()
