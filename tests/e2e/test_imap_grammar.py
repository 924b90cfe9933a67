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


if __name__ == "__main__":
    unittest.main()
