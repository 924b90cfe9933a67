"""IMAP MULTIAPPEND (RFC 3502): several messages in one APPEND are kept
all or none, with one APPENDUID (RFC 4315) naming their UID set; the
literal limit (imap_max_literal_size) is for the whole command."""
import os
import re
import unittest

from harness import ImapRaw, maildir_files, recipe_devmail


def msg(subject, body="body", size=0):
    text = "From: a@example.com\r\nSubject: %s\r\n\r\n%s\r\n" % (subject, body)
    if size:
        text += "x" * (size - len(text) - 2) + "\r\n"
    return text.encode()


def lit(data, sync=False):
    return b"{%d%s}\r\n" % (len(data), b"" if sync else b"+") + data


class MultiAppend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap"),
                                args=["--message-size-limit", "20000",
                                      "--imap-max-literal-size", "50000"]).start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def session(self):
        return ImapRaw.logged_in(self, self.dm.ports["imap"])

    def box(self):
        MultiAppend.n += 1
        name = "multi%d" % MultiAppend.n
        c = self.session()
        u, t = c.cmd("CREATE " + name)
        self.assertIn(" OK", t)
        return c, name

    def subjects(self, c, box):
        u, t = c.cmd("EXAMINE " + box)
        self.assertIn(" OK", t)
        u, t = c.cmd("FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = []
        for line in u:
            m = re.search(rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) INTERNALDATE \"([^\"]+)\".*Subject: (\S+)",
                          line, re.S)
            if m:
                out.append((int(m.group(1)), " ".join(f for f in m.group(2).decode().split() if f != "\\Recent"), m.group(3).decode(), m.group(4).decode()))
        return out

    def files(self, box):
        return maildir_files(self.dm.maildir("all@example.com", box), subs=("new", "cur", "tmp"))

    def test_capability(self):
        u, t = self.session().cmd("CAPABILITY")
        self.assertIn(b" MULTIAPPEND", u[0])

    def test_three_messages_one_appenduid(self):
        c, box = self.box()
        u, t = c.cmd(b"APPEND " + box.encode() + b" (\\Flagged) " + lit(msg("one")) + b" " +
                     b"\"05-Jan-2025 10:00:00 +0000\" " + lit(msg("two")) + b" (\\Seen $Work) " +
                     b"\"06-Jan-2025 11:00:00 +0100\" " + lit(msg("three")))
        m = re.search(r"OK \[APPENDUID (\d+) (\S+)\]", t)
        self.assertTrue(m, t)
        self.assertEqual(m.group(2), "1:3")
        got = self.subjects(c, box)
        self.assertEqual([(g[0], g[3]) for g in got], [(1, "one"), (2, "two"), (3, "three")])
        self.assertEqual(got[0][1], "\\Flagged")
        self.assertEqual(got[1][1], "")
        self.assertEqual(sorted(got[2][1].split()), ["$Work", "\\Seen"])
        self.assertEqual(got[1][2], "05-Jan-2025 10:00:00 +0000")
        self.assertEqual(got[2][2], "06-Jan-2025 10:00:00 +0000")
        u, t = c.cmd("STATUS %s (MESSAGES UIDNEXT)" % box)
        self.assertIn(b"MESSAGES 3 UIDNEXT 4", u[0])

    def test_synchronizing_literals(self):
        c, box = self.box()
        tag = c.next_tag()
        a, b = msg("sync1"), msg("sync2")
        c.send(tag.encode() + b" APPEND " + box.encode() + b" {%d}\r\n" % len(a))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(a + b" (\\Answered) {%d}\r\n" % len(b))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(b + b"\r\n")
        u, t = c.read_until_tagged(tag)
        self.assertRegex(t, r"OK \[APPENDUID \d+ 1:2\]")
        self.assertEqual([g[3] for g in self.subjects(c, box)], ["sync1", "sync2"])

    def test_one_too_big_keeps_none(self):
        c, box = self.box()
        u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("small")) + b" " + lit(msg("big", size=25000)))
        self.assertIn("NO [TOOBIG]", t)
        self.assertEqual(self.subjects(c, box), [])
        self.assertEqual(self.files(box), [])
        u, t = c.cmd("STATUS %s (MESSAGES UIDNEXT)" % box)
        self.assertIn(b"MESSAGES 0 UIDNEXT 1", u[0])

    def test_empty_message_keeps_none(self):
        c, box = self.box()
        u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("a")) + b" " + lit(b""))
        self.assertIn(" NO ", t)
        self.assertEqual(self.subjects(c, box), [])
        self.assertEqual(self.files(box), [])

    def test_syntax_error_after_a_message_keeps_none(self):
        c, box = self.box()
        # flags with no message after them
        u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("a")) + b" (\\Seen)")
        self.assertIn(" BAD ", t)
        self.assertEqual(self.subjects(c, box), [])
        self.assertEqual(self.files(box), [])

    def test_literal_limit_is_for_the_whole_command(self):
        c, box = self.box()
        # three messages each under message_size_limit, together over
        # imap_max_literal_size: refused when the third is announced
        tag = c.next_tag()
        parts = [msg("m%d" % i, size=19000) for i in range(3)]
        c.send(tag.encode() + b" APPEND " + box.encode() + b" {%d}\r\n" % len(parts[0]))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(parts[0] + b" {%d}\r\n" % len(parts[1]))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(parts[1] + b" {%d}\r\n" % len(parts[2]))
        u, t = c.read_until_tagged(tag)
        self.assertIn("NO [TOOBIG]", t)
        self.assertEqual(self.subjects(c, box), [])
        self.assertEqual(self.files(box), [])

    def test_a_file_system_failure_keeps_none(self):
        c, box = self.box()
        # the second message has a flag, so its file goes to cur/: without
        # cur/ its rename fails after the first file is already in new/
        cur = os.path.join(self.dm.maildir("all@example.com", box), "cur")
        os.rmdir(cur)
        try:
            u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("a")) + b" (\\Seen) " + lit(msg("b")))
            self.assertIn(" NO ", t)
            self.assertEqual(self.files(box), [])
        finally:
            os.mkdir(cur)
        self.assertEqual(self.subjects(c, box), [])
        u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("a")) + b" (\\Seen) " + lit(msg("b")))
        self.assertRegex(t, r"OK \[APPENDUID \d+ 1:2\]")

    def test_missing_mailbox(self):
        c = self.session()
        u, t = c.cmd(b"APPEND nosuchbox " + lit(msg("a")) + b" " + lit(msg("b")))
        self.assertIn("NO [TRYCREATE]", t)

    def test_other_session_sees_all(self):
        c, box = self.box()
        other = self.session()
        u, t = other.cmd("SELECT " + box)
        self.assertIn(b"* 0 EXISTS", b"".join(u))
        u, t = c.cmd(b"APPEND " + box.encode() + b" " + lit(msg("x")) + b" " + lit(msg("y")))
        self.assertIn(" OK", t)
        u, t = other.cmd("NOOP")
        self.assertIn(b"* 2 EXISTS", b"".join(u))


if __name__ == "__main__":
    unittest.main()
