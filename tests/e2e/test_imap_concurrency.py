"""Two IMAP sessions on one mailbox (issue 9, data bugs): a session that
has not yet seen another's changes must never act on the wrong message
or undo the other session's work.
"""
import re
import unittest

from harness import ImapRaw, recipe_devmail

MSG = ("From: Alice <alice@example.net>\r\n"
       "To: all@example.com\r\n"
       "Subject: %s\r\n"
       "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
       "Message-ID: <%s@example.net>\r\n"
       "\r\n"
       "Body of %s.\r\n")


def msg(subject):
    ident = re.sub(r"\W", "", subject)
    return (MSG % (subject, ident, subject)).encode()


class TwoSessions(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap")).start()
        self.addCleanup(self.dm.__exit__, None, None, None)

    def session(self):
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        u, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)
        return c

    def append(self, c, box, subject, flags=""):
        data = msg(subject)
        tag = c.next_tag()
        c.send(("%s APPEND %s %s{%d+}\r\n" % (tag, box, "(%s) " % flags if flags else "", len(data))).encode()
               + data + b"\r\n")
        u, t = c.read_until_tagged(tag)
        self.assertIn(" OK", t)
        m = re.search(r"\[APPENDUID \d+ (\d+)\]", t)
        self.assertIsNotNone(m, t)
        return int(m.group(1))

    def select(self, c, box="INBOX"):
        u, t = c.cmd("SELECT " + box)
        self.assertIn(" OK", t)
        return b"".join(u)

    def flags_of(self, c, uid):
        u, t = c.cmd("UID FETCH %d (FLAGS)" % uid)
        self.assertIn(" OK", t)
        text = b"".join(x for x in u if b"FETCH" in x).decode()
        m = re.search(r"FLAGS \(([^)]*)\)", text)
        self.assertIsNotNone(m, text)
        return set(m.group(1).split())

    def test_expunged_uid_never_reaches_a_new_message(self):
        a, b = self.session(), self.session()
        uid1 = self.append(a, "INBOX", "first message")
        uid2 = self.append(a, "INBOX", "second message")
        self.select(a)
        self.select(b)
        # B removes the newest message and appends another one
        u, t = b.cmd("STORE 2 +FLAGS (\\Deleted)")
        self.assertIn(" OK", t)
        u, t = b.cmd("EXPUNGE")
        self.assertIn(" OK", t)
        uid3 = self.append(b, "INBOX", "third message")
        self.assertGreater(uid3, uid2)

        # A has not seen the EXPUNGE: its old UID must not reach message 3
        u, t = a.cmd("UID FETCH %d (BODY.PEEK[HEADER.FIELDS (SUBJECT)])" % uid2)
        text = b"".join(u).decode("utf-8", "replace")
        self.assertNotIn("third message", text)
        u, t = a.cmd("UID STORE %d +FLAGS (\\Deleted)" % uid2)
        text = b"".join(u).decode("utf-8", "replace")
        self.assertNotRegex(text, r"UID %d\b" % uid3)
        u, t = a.cmd("UID EXPUNGE %d" % uid2)
        self.assertIn(" OK", t)

        # message 3 is still there, not \Deleted, with its own subject
        c = self.session()
        self.select(c)
        u, t = c.cmd("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        text = b"".join(u).decode("utf-8", "replace")
        uids = [int(x) for x in re.findall(r"UID (\d+)", text)]
        self.assertEqual(sorted(uids), [uid1, uid3], text)
        self.assertIn("third message", text)
        self.assertNotIn("\\Deleted", text)

    def test_store_changes_keep_other_sessions_flags(self):
        a, b = self.session(), self.session()
        uid = self.append(a, "INBOX", "flagged by two", flags="\\Seen")
        self.select(a)
        self.select(b)
        u, t = a.cmd("STORE 1 +FLAGS (\\Answered)")
        self.assertIn(" OK", t)
        # B has not seen A's change (no NOOP): it still thinks (\Seen)
        u, t = b.cmd("STORE 1 -FLAGS (\\Seen)")
        self.assertIn(" OK", t)
        text = b"".join(x for x in u if b"FETCH" in x).decode()
        # the untagged FETCH shows what is stored, A's \Answered included
        self.assertRegex(text, r"FLAGS \([^)]*\\Answered")
        self.assertNotIn("\\Seen", text)
        u, t = a.cmd("STORE 1 +FLAGS (\\Flagged $Work)")
        self.assertIn(" OK", t)
        u, t = b.cmd("STORE 1 +FLAGS ($Home)")
        self.assertIn(" OK", t)
        c = self.session()
        self.select(c)
        self.assertEqual(self.flags_of(c, uid), {"\\Answered", "\\Flagged", "$Work", "$Home"})

    def test_unchangedsince_compares_the_stored_modseq(self):
        a, b = self.session(), self.session()
        self.append(a, "INBOX", "conditional")
        u = self.select(a)
        self.select(b)
        u, t = b.cmd("FETCH 1 (MODSEQ)")
        m = re.search(rb"MODSEQ \((\d+)\)", b"".join(u))
        self.assertIsNotNone(m, u)
        seen = int(m.group(1))
        u, t = a.cmd("STORE 1 +FLAGS (\\Answered)")
        self.assertIn(" OK", t)
        # B's modseq is stale: its conditional STORE must fail
        u, t = b.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % seen)
        self.assertIn("[MODIFIED 1]", t)
        c = self.session()
        self.select(c)
        self.assertEqual(self.flags_of(c, 1), {"\\Answered"})

    def test_fetch_setting_seen_keeps_other_sessions_flags(self):
        a, b = self.session(), self.session()
        uid = self.append(a, "INBOX", "read by two")
        self.select(a)
        self.select(b)
        u, t = a.cmd("STORE 1 +FLAGS (\\Flagged)")
        self.assertIn(" OK", t)
        # B's FETCH BODY[] sets \Seen on top of what is stored
        u, t = b.cmd("FETCH 1 (BODY[TEXT])")
        self.assertIn(" OK", t)
        c = self.session()
        self.select(c)
        self.assertEqual(self.flags_of(c, uid), {"\\Flagged", "\\Seen"})


if __name__ == "__main__":
    unittest.main()
