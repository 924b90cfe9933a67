"""Hostile SMTP: one DATA never yields two messages (SMTP smuggling),
strict parameter syntax (SMTPUTF8, BODY, SIZE), and no descriptor or
tmp/ file outlives a transaction, however the client leaves it.
"""
import os
import unittest
import uuid

from harness import SmtpRaw, maildir_files, wait_for
from test_smtp_limits import ServerCase

def token():
    return uuid.uuid4().hex[:16]


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class StrictCase(ServerCase):
    """The shared SMTP server of test_smtp_limits, with a message finder."""

    def files_with(self, needle):
        out = []
        for p in maildir_files(self.all):
            with open(p, "rb") as f:
                if needle.encode() in f.read():
                    out.append(p)
        return out


class Smuggling(StrictCase):
    def smuggle(self, end_of_first, crlf_session=True):
        """A body that hides a second transaction behind `end_of_first`."""
        tok = token()
        eol = b"\r\n" if crlf_session else b"\n"
        with SmtpRaw(self.dm.smtp_port) as c:
            c.send(b"EHLO x" + eol)
            c.read_reply()
            c.send(b"MAIL FROM:<app@example.com>" + eol)
            self.assertEqual(c.read_reply(), ["250 2.1.0 Ok"])
            c.send(b"RCPT TO:<user@example.com>" + eol)
            self.assertEqual(c.read_reply(), ["250 2.1.5 Ok"])
            c.send(b"DATA" + eol)
            self.assertEqual(c.read_reply()[0][:3], "354")
            c.send(b"Subject: first " + tok.encode() + eol + eol + b"hello" + end_of_first +
                   b"MAIL FROM:<admin@example.com>" + eol + b"RCPT TO:<victim@example.com>" + eol +
                   b"DATA" + eol + b"Subject: forged " + tok.encode() + eol + eol + b"forged" + eol +
                   b"." + eol)
            replies = [c.read_reply()]
            c.send(b"QUIT" + eol)
            rest = c.read_until_close()
        # exactly one 250 for the message, then the QUIT's 221
        self.assertEqual(replies[0][0][:3], "250", replies)
        self.assertTrue(rest.startswith(b"221"), rest)
        self.assertTrue(wait_for(lambda: self.files_with("first " + tok)))
        self.assertEqual(len(self.files_with("first " + tok)), 1)
        # the forged part is content of the first message, never its own
        self.assertEqual(self.files_with("forged " + tok), self.files_with("first " + tok))
        with open(self.files_with("first " + tok)[0], "rb") as f:
            self.assertIn(b"MAIL FROM:<admin@example.com>", f.read())

    def test_lf_dot_lf_in_crlf_session(self):
        self.smuggle(b"\n.\n")

    def test_lf_dot_crlf_in_crlf_session(self):
        self.smuggle(b"\n.\r\n")

    def test_crlf_dot_lf_in_crlf_session(self):
        self.smuggle(b"\r\n.\n")

    def test_crlf_dot_crlf_in_bare_lf_session(self):
        self.smuggle(b"\r\n.\r\n", crlf_session=False)

    def test_bare_lf_session_ends_at_lf_dot_lf(self):
        # the recipe's nc heredoc: bare LF everywhere, "." ends the message
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.send(("HELO x\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n"
                    "Subject: lf %s\n\nbody\n.\nQUIT\n" % tok).encode())
            out = c.read_until_close()
        self.assertIn(b"250 2.0.0 Ok: queued", out)
        self.assertTrue(out.rstrip().split(b"\n")[-1].startswith(b"221"), out)
        self.assertTrue(wait_for(lambda: self.files_with("lf " + tok)))


class Syntax(StrictCase):
    def session(self):
        c = SmtpRaw(self.dm.smtp_port)
        c.cmd("EHLO x")
        return c

    def test_unicode_address_needs_smtputf8(self):
        with self.session() as c:
            c.send("MAIL FROM:<j\u00f6rg@example.com>\r\n".encode())
            self.assertEqual(c.read_reply(), ["553 5.6.7 Must declare SMTPUTF8 to send unicode address"])
            self.assertEqual(c.cmd("MAIL FROM:<app@example.com>"), ["250 2.1.0 Ok"])
            c.send("RCPT TO:<j\u00f6rg@example.com>\r\n".encode())
            self.assertEqual(c.read_reply(), ["553 5.6.7 Must declare SMTPUTF8 to send unicode address"])
            c.cmd("RSET")
            c.send("MAIL FROM:<j\u00f6rg@example.com> SMTPUTF8\r\n".encode())
            self.assertEqual(c.read_reply(), ["250 2.1.0 Ok"])
            c.send("RCPT TO:<\u00fcser@example.com>\r\n".encode())
            self.assertEqual(c.read_reply(), ["250 2.1.5 Ok"])

    def test_smtputf8_received_line(self):
        tok = token()
        with self.session() as c:
            c.send("MAIL FROM:<j\u00f6rg@example.com> SMTPUTF8\r\n".encode())
            self.assertEqual(c.read_reply(), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<user@example.com>"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("DATA")[0][:3], "354")
            self.assertEqual(c.cmd("Subject: utf8 %s\r\n\r\nx\r\n." % tok)[0][:3], "250")
        self.assertTrue(wait_for(lambda: self.files_with("utf8 " + tok)))
        with open(self.files_with("utf8 " + tok)[0], "rb") as f:
            head = f.read().split(b"\n\n")[0]
        self.assertIn(b"with UTF8SMTP id", head)

    def test_binarymime_not_advertised_is_refused(self):
        with self.session() as c:
            r = c.cmd("MAIL FROM:<a@example.com> BODY=BINARYMIME")
            self.assertEqual(r[0][:3], "501", r)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com> BODY=8BITMIME"), ["250 2.1.0 Ok"])

    def test_negative_size_is_a_syntax_error(self):
        with self.session() as c:
            for bad in ("-1", "+5", "1x", "", "123456789012345678901"):
                r = c.cmd("MAIL FROM:<a@example.com> SIZE=%s" % bad)
                self.assertEqual(r[0][:10], "501 5.5.4 ", (bad, r))
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com> SIZE=100"), ["250 2.1.0 Ok"])


class NoLeaks(StrictCase):
    args = ["--smtp-max-bad-commands", "1000"]

    def test_bdat0_then_data_leaks_nothing(self):
        pid = self.dm.proc.pid
        tmp = os.path.join(self.all, "tmp")
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            before = open_fds(pid)
            for i in range(40):
                self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
                self.assertEqual(c.cmd("RCPT TO:<b@example.com>"), ["250 2.1.5 Ok"])
                c.send(b"BDAT 0\r\n")
                self.assertEqual(c.read_reply()[0][:3], "250")
                # DATA after any BDAT is out of sequence (RFC 3030 2)
                self.assertEqual(c.cmd("DATA"), ["503 5.5.1 Error: DATA after BDAT"])
                c.cmd("RSET")
            during = open_fds(pid)
        self.assertLessEqual(during, before + 2, "descriptors grew %d -> %d" % (before, during))
        self.assertTrue(wait_for(lambda: open_fds(pid) <= before))
        self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])

    def test_abandoned_transactions_leave_no_tmp_files(self):
        pid = self.dm.proc.pid
        before = open_fds(pid)
        tmp = os.path.join(self.all, "tmp")
        for how in ("bdat", "data"):
            for _ in range(10):
                c = SmtpRaw(self.dm.smtp_port)
                c.cmd("EHLO x")
                c.cmd("MAIL FROM:<a@example.com>")
                c.cmd("RCPT TO:<b@example.com>")
                if how == "bdat":
                    c.send(b"BDAT 100\r\nonly part")
                else:
                    c.cmd("DATA")
                    c.send(b"Subject: cut\r\n\r\nhalf a body")
                c.close()
        self.assertTrue(wait_for(lambda: open_fds(pid) <= before, timeout=10))
        self.assertTrue(wait_for(lambda: not os.path.isdir(tmp) or os.listdir(tmp) == [], timeout=10),
                        os.listdir(tmp))


if __name__ == "__main__":
    unittest.main()
