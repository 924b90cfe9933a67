"""Two IMAP sessions on one mailbox (issue 9, data bugs 1-3).

Each test drives two raw IMAP connections so that one of them acts on a
snapshot the other has already changed (an EXPUNGE or a flag change it has
not yet been told about), and checks that no identity is reused, no flag
change is lost and no COPY/MOVE is half done.
"""
import os
import re
import unittest

from harness import ImapRaw, RECIPE_ACCOUNT, maildir_files, recipe_devmail


def message(subject):
    return ("From: a@example.net\r\nTo: b@example.com\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.net>\r\n\r\nBody of %s.\r\n" % (subject, subject, subject)).encode()


def flags_of(untagged, seq):
    """The FLAGS of the last untagged FETCH for seq, as a set, or None."""
    found = None
    for r in untagged:
        m = re.match(rb"\* %d FETCH \(.*FLAGS \(([^)]*)\)" % seq, r)
        if m:
            found = set(m.group(1).decode().split()) - {"\\Recent"}
    return found


class TwoSessions(unittest.TestCase):
    seq = 0

    def setUp(self):
        # a server per test: row ids then depend on this test alone
        self.dm = recipe_devmail(listen=("smtp", "imap")).start()
        self.addCleanup(self.dm.__exit__, None, None, None)

    def session(self):
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        _, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)
        return c

    def box(self, c, subjects):
        TwoSessions.seq += 1
        name = "Two%d" % TwoSessions.seq
        _, t = c.cmd("CREATE " + name)
        self.assertIn(" OK", t)
        for s in subjects:
            self.append(c, name, s)
        return name

    def append(self, c, box, subject):
        data = message(subject)
        tag = c.next_tag()
        c.send(("%s APPEND %s {%d}\r\n" % (tag, box, len(data))).encode())
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(data + b"\r\n")
        _, t = c.read_until_tagged(tag)
        self.assertIn(" OK", t)
        return int(re.search(r"APPENDUID \d+ (\d+)", t).group(1))

    def ok(self, c, line):
        u, t = c.cmd(line)
        self.assertRegex(t, r"^t\d+ OK", (line, u, t))
        return u

    # ---- 1: identities are never reused ------------------------------------

    def test_expunged_id_is_not_reused_by_append(self):
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["first", "second"])
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s2, "STORE 2 +FLAGS (\\Deleted)")
        u = self.ok(s2, "EXPUNGE")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        uid3 = self.append(s2, box, "third")
        self.assertEqual(uid3, 3)
        # s1 has not seen the EXPUNGE: its message 2 is still UID 2, and
        # must never be served as, or act on, the third message
        u, t = s1.cmd("FETCH 2 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertNotIn(b"third", b"".join(u), u)
        self.assertNotRegex(t, r"^t\d+ BAD")
        s1.cmd("UID STORE 2 +FLAGS (\\Deleted)")
        s1.cmd("UID EXPUNGE 2")
        u = self.ok(s2, "UID FETCH 1:* (UID FLAGS)")
        uids = [int(m.group(1)) for m in (re.search(rb"UID (\d+)", r) for r in u) if m]
        self.assertEqual(uids, [1, 3], u)
        self.assertNotIn("\\Deleted", flags_of(u, 2))
        u = self.ok(s1, "NOOP")
        u = self.ok(s1, "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        text = b"".join(u)
        self.assertIn(b"UID 3", text)
        self.assertIn(b"third", text)

    def test_expunged_id_is_not_reused_by_copy(self):
        s1, s2 = self.session(), self.session()
        other = self.box(s1, ["elsewhere"])
        box = self.box(s1, ["one", "two"])  # "two" is the newest row
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s2, "STORE 2 +FLAGS (\\Deleted)")
        self.ok(s2, "EXPUNGE")
        self.ok(s2, "EXAMINE " + other)
        self.ok(s2, "COPY 1 " + box)
        # s1's message 2 (UID 2) is gone: flagging it must not flag the copy
        s1.cmd("UID STORE 2 +FLAGS (\\Flagged)")
        u = self.ok(s1, "NOOP")
        u = self.ok(s1, "UID FETCH 1:* (UID FLAGS)")
        self.assertEqual(len(u), 2, u)
        self.assertNotIn("\\Flagged", flags_of(u, 2), u)

    def test_deleted_mailbox_id_is_not_reused(self):
        # mailbox ids are held by sessions too: a session on a deleted
        # mailbox must not be shown the messages of the next one created
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["old box"])  # the newest mailbox row
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "DELETE " + box)
        fresh = self.box(s2, ["new box", "new box again"])
        u, t = s1.cmd("NOOP")
        self.assertFalse(any(re.match(rb"\* [1-9]\d* EXISTS", r) for r in u), (u, t))
        u, t = s1.cmd("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertNotIn(b"new box", b"".join(u), (u, t))
        u = self.ok(s2, "STATUS %s (MESSAGES)" % fresh)
        self.assertIn(b"MESSAGES 2", u[0])

    # ---- 2: flag changes are read-modify-write in the store -----------------

    def test_store_keeps_other_sessions_flags(self):
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["flags"])
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s2, "STORE 1 +FLAGS (\\Seen)")
        u = self.ok(s1, "STORE 1 +FLAGS (\\Answered)")
        self.assertEqual(flags_of(u, 1), {"\\Seen", "\\Answered"}, u)
        # s2 has not been told of \Answered; its -FLAGS must keep it
        u = self.ok(s2, "STORE 1 -FLAGS (\\Seen)")
        self.assertEqual(flags_of(u, 1), {"\\Answered"}, u)
        u = self.ok(s1, "FETCH 1 (FLAGS)")
        self.assertEqual(flags_of(u, 1), {"\\Answered"}, u)
        # keywords likewise
        self.ok(s1, "STORE 1 +FLAGS (kw1)")
        u = self.ok(s2, "STORE 1 +FLAGS.SILENT (kw2)")
        # a silent STORE need not answer; if it shows flags, the stored ones
        if flags_of(u, 1) is not None:
            self.assertEqual(flags_of(u, 1), {"\\Answered", "kw1", "kw2"}, u)
        u = self.ok(s1, "FETCH 1 (FLAGS)")
        self.assertEqual(flags_of(u, 1), {"\\Answered", "kw1", "kw2"}, u)

    def test_expunge_uses_the_stored_deleted_flag(self):
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["keep me", "remove me"])
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s1, "STORE 1:2 +FLAGS (\\Deleted)")
        self.ok(s2, "STORE 1 -FLAGS (\\Deleted)")  # s2 changes its mind
        u = self.ok(s1, "EXPUNGE")  # s1 has not been told of that
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        self.assertNotIn(b"* 1 EXPUNGE\r\n", u)
        u = self.ok(s2, "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"keep me", b"".join(u))
        self.assertNotIn(b"remove me", b"".join(u))

    def test_expunge_removes_what_another_session_deleted(self):
        """RFC 3501 6.4.3: EXPUNGE removes every \\Deleted message, also one
        another session flagged that this session has not been told of."""
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["one", "two", "three"])
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s2, "STORE 2 +FLAGS (\\Deleted)")
        u = self.ok(s1, "EXPUNGE")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        u = self.ok(s1, "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(len([x for x in u if b" FETCH " in x]), 2)
        self.assertNotIn(b"two", b"".join(u))
        # UID EXPUNGE keeps to its set
        self.ok(s2, "NOOP")
        self.ok(s2, "STORE 1:2 +FLAGS (\\Deleted)")
        uid1 = int(re.search(rb"UID (\d+)", b"".join(self.ok(s1, "FETCH 1 UID"))).group(1))
        u = self.ok(s1, "UID EXPUNGE %d" % uid1)
        self.assertIn(b"* 1 EXPUNGE\r\n", u)
        self.assertEqual(len([x for x in u if x.endswith(b"EXPUNGE\r\n")]), 1)
        # CLOSE removes them too, silently
        self.ok(s2, "NOOP")
        self.ok(s2, "STORE 1 +FLAGS (\\Deleted)")
        u = self.ok(s1, "CLOSE")
        self.assertEqual([x for x in u if b"EXPUNGE" in x], [])
        u = self.ok(s2, "NOOP")
        self.assertIn(b"* 1 EXPUNGE\r\n", u)

    def test_unchangedsince_uses_the_stored_modseq(self):
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["cond"])
        self.ok(s1, "SELECT %s (CONDSTORE)" % box)
        self.ok(s2, "SELECT %s (CONDSTORE)" % box)
        u = self.ok(s1, "FETCH 1 (MODSEQ)")
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", u[0]).group(1))
        self.ok(s2, "STORE 1 +FLAGS (\\Flagged)")
        u, t = s1.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % modseq)
        self.assertRegex(t, r"^t\d+ OK \[MODIFIED 1\]", (u, t))
        u = self.ok(s2, "FETCH 1 (FLAGS)")
        self.assertEqual(flags_of(u, 1), {"\\Flagged"}, u)

    # ---- 3: COPY/MOVE are all or nothing --------------------------------------

    def dest_count(self, c, box):
        u = self.ok(c, "STATUS %s (MESSAGES)" % box)
        return int(re.search(rb"MESSAGES (\d+)", u[0]).group(1))

    def test_copy_of_expunged_member_copies_nothing(self):
        s1, s2 = self.session(), self.session()
        box = self.box(s1, ["c1", "c2", "c3"])
        dest = self.box(s1, [])
        self.ok(s1, "SELECT " + box)
        self.ok(s2, "SELECT " + box)
        self.ok(s2, "STORE 2 +FLAGS (\\Deleted)")
        self.ok(s2, "EXPUNGE")
        for cmd in ("COPY 1:3 ", "COPY 1:3 ", "UID COPY 1:3 ", "MOVE 1:3 "):
            u, t = s1.cmd(cmd + dest)
            self.assertRegex(t, r"^t\d+ NO \[EXPUNGEISSUED\]", (cmd, u, t))
            self.assertEqual(self.dest_count(s2, dest), 0, cmd)
        self.assertEqual(maildir_files(self.dm.maildir(RECIPE_ACCOUNT, dest)), [])
        # nothing left the source either (MOVE)
        u = self.ok(s2, "FETCH 1:* (UID)")
        self.assertEqual(len(u), 2, u)
        # once the EXPUNGE is seen, the same COPY works
        u = self.ok(s1, "NOOP")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)
        u, t = s1.cmd("COPY 1:2 " + dest)
        self.assertRegex(t, r"^t\d+ OK \[COPYUID \d+ 1,3 1:2\]", (u, t))
        self.assertEqual(self.dest_count(s2, dest), 2)

    def test_fetch_of_removed_file_is_no_then_expunge(self):
        s1 = self.session()
        box = self.box(s1, ["gone", "stays"])
        self.ok(s1, "SELECT " + box)
        files = maildir_files(self.dm.maildir(RECIPE_ACCOUNT, box))
        self.assertEqual(len(files), 2)
        victim = [p for p in files if b"gone" in open(p, "rb").read()][0]
        os.remove(victim)
        u, t = s1.cmd("FETCH 1 (BODY.PEEK[])")
        self.assertRegex(t, r"^t\d+ NO ", (u, t))
        self.assertFalse(any(b"BODY[]" in r for r in u), u)
        u = self.ok(s1, "NOOP")
        self.assertIn(b"* 1 EXPUNGE\r\n", u)
        u = self.ok(s1, "FETCH 1 (BODY.PEEK[])")
        self.assertIn(b"stays", b"".join(u))

    def test_copy_of_removed_file_copies_nothing(self):
        s1 = self.session()
        box = self.box(s1, ["k1", "k2"])
        dest = self.box(s1, [])
        self.ok(s1, "SELECT " + box)
        files = maildir_files(self.dm.maildir(RECIPE_ACCOUNT, box))
        victim = [p for p in files if b"k2" in open(p, "rb").read()][0]
        os.remove(victim)
        u, t = s1.cmd("COPY 1:2 " + dest)
        self.assertRegex(t, r"^t\d+ NO ", (u, t))
        self.assertEqual(self.dest_count(s1, dest), 0)
        self.assertEqual(maildir_files(self.dm.maildir(RECIPE_ACCOUNT, dest)), [])
        u = self.ok(s1, "NOOP")
        self.assertIn(b"* 2 EXPUNGE\r\n", u)


if __name__ == "__main__":
    unittest.main()
