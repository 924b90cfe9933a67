"""Known traps of other IMAP servers (issue 3), limits, and mailbox names
that must never reach outside the account's Maildir.
"""
import os
import re
import unittest

from harness import ImapRaw, recipe_devmail, send_mail

LONG_BODY = "".join("body line %04d padding padding padding padding\r\n" % i for i in range(200))


def mail(i, body="hello\r\n"):
    return ("From: Sender %d <s%d@example.net>\r\nTo: all@example.com\r\nSubject: trap %d\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <trap%d@example.net>\r\n\r\n%s") % (i, i, i, i, body)


class TestTraps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap"), args=["--imap-max-line-length", "4096",
                                                               "--message-size-limit", "200000"]).start()
        for i in range(1, 7):
            send_mail(cls.dm, mail(i, LONG_BODY if i == 6 else "hello %d\r\n" % i))

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def login(self, select=None):
        return ImapRaw.logged_in(self, self.dm.ports["imap"], select)

    def test_no_uid_zero(self):
        c = self.login()
        u, t = c.cmd("SELECT INBOX")
        text = b"".join(u).decode()
        self.assertRegex(text, r"\[UIDVALIDITY [1-9]\d*\]")
        self.assertRegex(text, r"\[UIDNEXT [1-9]\d*\]")
        u, t = c.cmd("FETCH 1:* (UID)")
        uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(u))]
        self.assertTrue(uids)
        self.assertNotIn(0, uids)
        self.assertEqual(uids, sorted(set(uids)))
        u, t = c.cmd("UID FETCH 0 (FLAGS)")  # no message has UID 0: nothing, not an error storm
        self.assertFalse([x for x in u if b"FETCH" in x])

    def test_uid_search_answers_uids_not_sequence_numbers(self):
        c = self.login("INBOX")
        c.cmd("CREATE UidTrap")
        u, t = c.cmd("COPY 1:6 UidTrap")
        self.assertIn(" OK", t)
        u, t = c.cmd("SELECT UidTrap")
        # expunge the first three: sequence numbers and UIDs now differ by 3
        c.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        u, t = c.cmd("EXPUNGE")
        self.assertEqual(len([x for x in u if x.endswith(b"EXPUNGE\r\n")]), 3)
        u, t = c.cmd("UID SEARCH ALL")
        self.assertEqual(u, [b"* SEARCH 4 5 6\r\n"])
        u, t = c.cmd("SEARCH ALL")
        self.assertEqual(u, [b"* SEARCH 1 2 3\r\n"])
        u, t = c.cmd("UID SEARCH SUBJECT \"trap 5\"")
        self.assertEqual(u, [b"* SEARCH 5\r\n"])
        u, t = c.cmd("SEARCH SUBJECT \"trap 5\"")
        self.assertEqual(u, [b"* SEARCH 2\r\n"])
        u, t = c.cmd("UID SEARCH UID 5:6")
        self.assertEqual(u, [b"* SEARCH 5 6\r\n"])
        u, t = c.cmd("SEARCH UID 5")
        self.assertEqual(u, [b"* SEARCH 2\r\n"])
        u, t = c.cmd("UID FETCH 5 (FLAGS)")
        self.assertRegex(u[0], rb"^\* 2 FETCH \(.*UID 5")
        u, t = c.cmd("UID STORE 6 +FLAGS (\\Flagged)")
        self.assertRegex(u[0], rb"^\* 3 FETCH \(.*UID 6")
        u, t = c.cmd("UID FETCH 1:3 (FLAGS)")  # expunged UIDs: nothing
        self.assertFalse([x for x in u if b"FETCH" in x])

    def test_partial_fetch_2048(self):
        c = self.login("INBOX")
        u, t = c.cmd("FETCH 6 (RFC822.SIZE)")
        size = int(re.search(rb"RFC822.SIZE (\d+)", u[0]).group(1))
        self.assertGreater(size, 4096)
        u, t = c.cmd("FETCH 6 (BODY.PEEK[]<0.2048>)")
        self.assertTrue(t.endswith("OK Fetch completed."), t)
        m = re.match(rb"\* 6 FETCH \(BODY\[\]<0> \{(\d+)\}\r\n", u[0])
        self.assertIsNotNone(m, u[0][:100])
        self.assertEqual(int(m.group(1)), 2048)
        self.assertEqual(len(u[0]) - m.end(), 2048 + 3)  # data + ")\r\n"
        u2, _ = c.cmd("FETCH 6 (BODY.PEEK[])")
        whole = u2[0][u2[0].index(b"}\r\n") + 3:-3]
        self.assertEqual(len(whole), size)
        self.assertEqual(u[0][m.end():m.end() + 2048], whole[:2048])
        # the next chunk, as Thunderbird asks for it
        u, t = c.cmd("FETCH 6 (BODY.PEEK[]<2048.2048>)")
        self.assertRegex(u[0], rb"BODY\[\]<2048> \{2048\}")
        self.assertEqual(u[0][u[0].index(b"}\r\n") + 3:-3], whole[2048:4096])
        u, t = c.cmd("FETCH 6 (FLAGS)")
        self.assertNotIn(b"\\Seen", u[0])

    def test_header_fields_odd_spacing(self):
        c = self.login("INBOX")
        u, t = c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM   TO)])")
        self.assertIn(" OK", t)
        self.assertIn(b"From: Sender 1 <s1@example.net>\r\nTo: all@example.com\r\n\r\n", u[0])
        u, t = c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS ( from to )])")
        self.assertIn(" OK", t)
        self.assertIn(b"From: Sender 1 <s1@example.net>\r\nTo: all@example.com\r\n\r\n", u[0])
        u, t = c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (\"Subject\")]")
        self.assertIn(" OK", t)
        self.assertIn(b"Subject: trap 1\r\n\r\n", u[0])

    def test_apple_mail_fetch(self):
        c = self.login("INBOX")
        u, t = c.cmd("FETCH 1:6 (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)] "
                     "RFC822.SIZE INTERNALDATE)")
        self.assertRegex(t, r"OK Fetch completed")
        fetches = [x for x in u if re.match(rb"\* \d+ FETCH ", x)]
        self.assertEqual(len(fetches), 6)
        for f in fetches:
            self.assertRegex(f, rb"UID [1-9]\d*")
            self.assertRegex(f, rb"FLAGS \(")
            self.assertRegex(f, rb"RFC822.SIZE \d+")
            self.assertRegex(f, rb'INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"')
            self.assertRegex(f, rb"BODY\[HEADER.FIELDS \((?i:from to subject date message-id)\)\] \{\d+\}\r\n")
            self.assertIn(b"Message-ID: <trap", f)
            self.assertNotIn(b"Received:", f)
        # the UID form Apple Mail uses for new mail
        u, t = c.cmd("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 1)")
        self.assertIn(" OK", t)

    def test_bad_mailbox_names_refused_and_nothing_created_outside(self):
        c = self.login()
        data = self.dm.data_dir
        before = set()
        for root, dirs, files in os.walk(data):
            before.add(root)
        bad = ['"../evil"', '"a/b"', '"..x"', '"x.."', '"a..b"', '"~root"', '"/etc"', '"Foo&-bar&AGE"',
               '"&Jjo"', '"&AGE-"', '".hidden"', '"trail."', '"x\\\\y"', '"INBOX/../x"']
        for name in bad:
            for cmd in ("CREATE %s", "SELECT %s", "RENAME INBOX %s", "APPEND %s {1+}\r\nx"):
                if name == '"trail."' and cmd.startswith("CREATE"):
                    continue  # RFC 3501 6.3.3: CREATE "trail." creates "trail" (test_imap_grammar)
                u, t = c.cmd(cmd % name)
                self.assertRegex(t, r"^t\d+ (NO|BAD) ", "%s accepted: %s" % (cmd % name, t))
        u, t = c.cmd("NOOP")
        self.assertIn(" OK", t)
        after = set()
        for root, dirs, files in os.walk(data):
            after.add(root)
        new = sorted(after - before)
        self.assertEqual(new, [], "directories appeared: %s" % new)
        for p in ("evil", "etc", "root"):
            self.assertFalse(os.path.exists(os.path.join(os.path.dirname(data), p)))
        # nothing outside <data>/example.com/all/Maildir changed names
        self.assertEqual(sorted(os.listdir(os.path.join(data, "example.com"))), ["all"])

    def test_valid_modified_utf7_name(self):
        c = self.login()
        u, t = c.cmd('CREATE "Entw&APw-rfe"')  # "Entwürfe"
        self.assertIn(" OK", t)
        u, t = c.cmd('LIST "" "Entw*"')
        self.assertIn(b'* LIST (\\HasNoChildren) "." Entw&APw-rfe\r\n', u)
        md = self.dm.maildir("all@example.com")
        self.assertTrue(any(n.startswith(".Entw") for n in os.listdir(md)), os.listdir(md))
        u, t = c.cmd('DELETE "Entw&APw-rfe"')
        self.assertIn(" OK", t)

    def test_huge_literal_refused_without_crash(self):
        c = self.login("INBOX")
        c.send("t90 APPEND INBOX {999999999}\r\n")
        r = c.read_response().decode()
        self.assertRegex(r, r"^(t90 NO \[TOOBIG\]|t90 BAD|\* BYE)")
        if not r.startswith("* BYE"):
            u, t = c.cmd("NOOP")
            self.assertIn(" OK", t)
        # non-synchronizing: the server cannot refuse before the data comes
        c2 = self.login("INBOX")
        c2.send("t91 APPEND INBOX {300000+}\r\n")
        try:
            c2.send(b"x" * 300000 + b"\r\n")
        except OSError:
            pass
        try:
            r = c2.read_response().decode()
            self.assertRegex(r, r"^(t91 NO \[TOOBIG\]|t91 BAD|\* BYE)")
        except (EOFError, OSError):
            pass  # closed: acceptable for LITERAL+ beyond the limit
        # server still alive
        c3 = self.login("INBOX")
        u, t = c3.cmd("NOOP")
        self.assertIn(" OK", t)

    def test_append_at_the_limit_works(self):
        c = self.login()
        body = b"Subject: big\r\n\r\n" + b"y" * 150000 + b"\r\n"
        c.send(b"t95 APPEND INBOX {%d}\r\n" % len(body))
        self.assertTrue(c.read_response().startswith(b"+"))
        c.send(body + b"\r\n")
        u, t = c.read_until_tagged("t95")
        self.assertIn(" OK [APPENDUID", t)

    def test_command_line_too_long(self):
        c = self.login("INBOX")
        c.send("t80 SEARCH SUBJECT \"" + "x" * 10000 + "\"\r\n")
        out = c.read_until_close(timeout=5).decode("utf-8", "replace")
        self.assertRegex(out, r"(\* BYE [^\r]*[Tt]oo long|t80 BAD)")
        c2 = self.login("INBOX")  # the server lives on
        u, t = c2.cmd("NOOP")
        self.assertIn(" OK", t)

    def test_deep_nesting_refused(self):
        c = self.login("INBOX")
        u, t = c.cmd("SEARCH " + "(" * 200 + "ALL" + ")" * 200)
        self.assertRegex(t, r"^t\d+ (BAD|NO) ")
        u, t = c.cmd("SEARCH " + "NOT " * 500 + "ALL")
        self.assertRegex(t, r"^t\d+ (BAD|NO|OK) ")
        u, t = c.cmd("NOOP")
        self.assertIn(" OK", t)

    def test_garbage_and_state_errors(self):
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        u, t = c.cmd("SELECT INBOX")
        self.assertRegex(t, r"^t\d+ BAD ")  # not logged in
        u, t = c.cmd("FROBNICATE")
        self.assertRegex(t, r"^t\d+ BAD ")
        c.send(b"\x00\xff\xfe garbage\r\n")
        r = c.read_response()
        self.assertRegex(r, rb"^(\* BAD|\S+ BAD)")
        u, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)
        u, t = c.cmd("FETCH 1 FLAGS")
        self.assertRegex(t, r"^t\d+ BAD ")  # no mailbox selected


if __name__ == "__main__":
    unittest.main()


class SessionLimit(unittest.TestCase):
    """imap_max_sessions_per_user: the next login gets NO [LIMIT]; a freed
    slot can be used again."""

    def test_sessions_per_user(self):
        import imaplib
        from harness import Devmail
        with Devmail(listen=("smtp", "imap"), args=["--imap-max-sessions-per-user", "2"]) as dm:
            port = dm.ports["imap"]
            a = imaplib.IMAP4("127.0.0.1", port)
            a.login("u@x", "p")
            b = imaplib.IMAP4("127.0.0.1", port)
            b.login("u@x", "p")
            c = imaplib.IMAP4("127.0.0.1", port)
            with self.assertRaisesRegex(imaplib.IMAP4.error, r"\[LIMIT\]"):
                c.login("u@x", "p")
            a.logout()
            import time
            time.sleep(0.2)
            c.login("u@x", "p")
            for m in (b, c):
                m.logout()
