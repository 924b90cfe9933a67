"""IMAP CATENATE (RFC 4469): APPEND of a message built from TEXT literals
and URLs of messages (or their sections) in this account's mailboxes, as
paths ("/box;UIDVALIDITY=n/;UID=n/;SECTION=s/;PARTIAL=o.l") or relative
to the selected mailbox (";UID=n/..."); NO [BADURL] for a URL that names
nothing, and then nothing is kept (MULTIAPPEND included)."""
import re
import unittest

from harness import ImapRaw, recipe_devmail

SOURCE = (b"From: a@example.com\r\nSubject: source\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
          b"--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
          b"--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n")


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


class Catenate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap"), args=["--message-size-limit", "2000"]).start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def setUp(self):
        Catenate.n += 1
        self.src, self.dst = "src%d" % self.n, "dst%d" % self.n
        self.c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        for box in (self.src, self.dst):
            self.ok("CREATE " + box)
        t = self.ok(b"APPEND " + self.src.encode() + b" " + lit(SOURCE))[1]
        self.uidv, self.uid = re.search(r"APPENDUID (\d+) (\d+)", t).groups()

    def ok(self, cmd):
        u, t = self.c.cmd(cmd)
        self.assertRegex(t, r"^\S+ OK", (cmd, u, t))
        return u, t

    def bodies(self, box):
        u, t = self.c.cmd("STATUS %s (MESSAGES)" % box)
        n = int(re.search(rb"MESSAGES (\d+)", u[0]).group(1))
        if n == 0:
            return []
        other = ImapRaw.logged_in(self, self.dm.ports["imap"], select=box)
        u, t = other.cmd("FETCH 1:* BODY.PEEK[]")
        out = []
        for r in u:
            m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", r)
            if m:
                out.append(r[m.end():m.end() + int(m.group(1))])
        return out

    def append(self, parts):
        return self.c.cmd(b"APPEND " + self.dst.encode() + b" " + parts)

    def test_capability(self):
        u, t = self.c.cmd("CAPABILITY")
        self.assertIn(b" CATENATE", u[0])

    def test_header_of_one_message_and_new_text(self):
        url = "/%s;UIDVALIDITY=%s/;UID=%s/;SECTION=HEADER" % (self.src, self.uidv, self.uid)
        u, t = self.append(b"(\\Seen) CATENATE (URL \"" + url.encode() + b"\" TEXT " + lit(b"new body\r\n") + b")")
        self.assertRegex(t, r"OK \[APPENDUID \d+ 1\]")
        header = SOURCE[:SOURCE.index(b"\r\n\r\n") + 4]
        self.assertEqual(self.bodies(self.dst), [header + b"new body\r\n"])

    def test_sections_partial_and_whole(self):
        u, t = self.append(b"CATENATE (TEXT " + lit(b"Subject: parts\r\n\r\n") +
                           b" URL \"/" + self.src.encode() + b"/;uid=" + self.uid.encode() + b"/;section=2\"" +
                           b" TEXT " + lit(b"|") +
                           b" URL \"/" + self.src.encode() + b"/;uid=" + self.uid.encode() + b"/;section=1/;partial=6.4\")")
        self.assertIn(" OK", t)
        u, t = self.append(b"CATENATE (URL \"/" + self.src.encode() + b"/;UID=" + self.uid.encode() + b"\")")
        self.assertIn(" OK", t)
        self.assertEqual(self.bodies(self.dst), [b"Subject: parts\r\n\r\nsecond part|part", SOURCE])

    def test_relative_to_the_selected_mailbox(self):
        u, t = self.append(b"CATENATE (URL \";UID=" + self.uid.encode() + b"/;SECTION=1\")")
        self.assertIn("NO [BADURL", t)  # nothing selected
        self.ok("SELECT " + self.src)
        u, t = self.append(b"CATENATE (TEXT " + lit(b"X: 1\r\n\r\n") + b" URL \";UID=" + self.uid.encode() +
                           b"/;SECTION=1\")")
        self.assertIn(" OK", t)
        self.assertEqual(self.bodies(self.dst), [b"X: 1\r\n\r\nfirst part"])

    def test_bad_urls_keep_nothing(self):
        wrong = [
            "/%s;UIDVALIDITY=%d/;UID=%s" % (self.src, int(self.uidv) + 1, self.uid),  # other UIDVALIDITY
            "/%s/;UID=99" % self.src,                                                 # no such message
            "/nosuchbox/;UID=1",
            "/%s/;UID=%s/;SECTION=7" % (self.src, self.uid),                           # no such part
            "imap://localhost/%s/;UID=%s" % (self.src, self.uid),                      # not ours to fetch
            "/%s/;UID=%s/;URLAUTH=anonymous" % (self.src, self.uid),
        ]
        for url in wrong:
            u, t = self.append(b"CATENATE (TEXT " + lit(b"A: b\r\n\r\n") + b" URL \"" + url.encode() + b"\")")
            self.assertIn("NO [BADURL", t, url)
        # MULTIAPPEND: a good message and a bad URL: neither is kept
        u, t = self.append(lit(b"Subject: fine\r\n\r\nx\r\n") + b" CATENATE (URL \"/%s/;UID=99\")" %
                           self.src.encode())
        self.assertIn("NO [BADURL", t)
        self.assertEqual(self.bodies(self.dst), [])
        # the session goes on
        self.ok("NOOP")

    def test_multiappend_with_catenate(self):
        u, t = self.append(b"CATENATE (URL \"/" + self.src.encode() + b"/;UID=" + self.uid.encode() +
                           b"/;SECTION=HEADER\" TEXT " + lit(b"one\r\n") + b") (\\Answered) " +
                           lit(b"Subject: two\r\n\r\ntwo\r\n"))
        self.assertRegex(t, r"OK \[APPENDUID \d+ 1:2\]")
        self.assertEqual(len(self.bodies(self.dst)), 2)

    def test_missing_destination_and_syntax(self):
        u, t = self.c.cmd(b"APPEND nosuchbox CATENATE (URL \"/" + self.src.encode() + b"/;UID=1\")")
        self.assertIn("NO [TRYCREATE]", t)
        for bad in (b"CATENATE ()", b"CATENATE (TEXT \"quoted\")", b"CATENATE (URL)", b"CATENATE (FOO " + lit(b"x") + b")"):
            u, t = self.append(bad)
            self.assertRegex(t, r"^\S+ BAD", bad)

    def test_too_big(self):
        url = b" URL \"/" + self.src.encode() + b"/;UID=" + self.uid.encode() + b"\""
        u, t = self.append(b"CATENATE (" + url * 11 + b")")  # eleven times the 200-byte source > 2000 bytes
        self.assertIn("NO [TOOBIG]", t)
        self.assertEqual(self.bodies(self.dst), [])


if __name__ == "__main__":
    unittest.main()
