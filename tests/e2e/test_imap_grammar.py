"""RFC 3501 grammar corners that Dovecot's tester checks: a trailing
hierarchy separator in CREATE, "[" as an atom character, the atom NIL as
an astring, flag and pattern, and 4294967295 as a UID and sequence number.
"""
import re
import unittest

from harness import ImapRaw, recipe_devmail, send_mail


class TestGrammar(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()
        for i in range(3):
            send_mail(cls.dm, "Subject: NIL and more %d\r\n\r\nx\r\n" % i)

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def session(self, select="INBOX"):
        return ImapRaw.logged_in(self, self.dm.ports["imap"], select)

    def ok(self, c, cmd):
        u, t = c.cmd(cmd)
        self.assertRegex(t, r"^\S+ OK", (cmd, u, t))
        return b"".join(u).decode("utf-8", "replace")

    def test_create_with_trailing_separator(self):
        c = self.session(None)
        self.ok(c, "CREATE trail.")
        out = self.ok(c, 'LIST "" trail*')
        self.assertIn('"trail"', out.replace("trail\r\n", '"trail"\r\n'))
        self.ok(c, "SELECT trail")

    def test_bracket_is_an_atom_char(self):
        c = self.session(None)
        self.ok(c, "CREATE a[b")
        self.ok(c, "SELECT a[b")
        out = self.ok(c, 'LIST "" a[b*')
        self.assertIn("a[b", out)

    def test_nil_as_astring_flag_and_pattern(self):
        c = self.session()
        out = self.ok(c, "SEARCH SUBJECT NIL")
        self.assertEqual(out.split("\r\n")[0].split()[2:], ["1", "2", "3"])
        self.ok(c, 'LIST "" NIL')
        out = self.ok(c, "STORE 1 +FLAGS NIL")
        self.assertRegex(out, r"FLAGS \([^)]*NIL")

    def test_max_uid_and_sequence_number(self):
        c = self.session()
        out = self.ok(c, "UID SEARCH UID 1:4294967295")
        self.assertEqual(len(out.split("\r\n")[0].split()) - 2, 3)
        out = self.ok(c, "UID FETCH 1:4294967295 UID")
        self.assertEqual(len(re.findall(r"FETCH \(UID \d+\)", out)), 3)
        out = self.ok(c, "FETCH 1:4294967295 FLAGS")
        self.assertEqual(out.count(" FETCH "), 3)


class TestTrace(unittest.TestCase):
    """-v (verbose) logs the whole IMAP conversation: connects, client lines
    with literals by size, server lines, disconnects; never a password."""

    def test_verbose_protocol_trace(self):
        import time
        with recipe_devmail(listen=("smtp", "imap"), args=["-v"]) as dm:
            c = ImapRaw(dm.ports["imap"])
            c.cmd("LOGIN all@example.com s3cretpw")
            c.cmd("LOGIN all@example.com password")
            c.send(b"t9 APPEND INBOX {25+}\r\nSubject: traced\r\n\r\nbody\r\n\r\n")
            while not c.read_response().startswith(b"t9 "):
                pass
            c.cmd("LOGOUT")
            c.close()
            time.sleep(0.3)
            log = dm.log_text()
        self.assertRegex(log, r"imap\[\d+\] 127\.0\.0\.1: connect")
        self.assertIn("< t1 LOGIN all@example.com ***", log)
        self.assertNotIn("s3cretpw", log)
        self.assertNotIn("com password", log)
        self.assertIn("< t9 APPEND INBOX {25+}<25 bytes>", log)
        self.assertRegex(log, r"> t9 OK \[APPENDUID \d+ \d+\]")
        self.assertRegex(log, r"imap\[\d+\] 127\.0\.0\.1: disconnect")


if __name__ == "__main__":
    unittest.main()
