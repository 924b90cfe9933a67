"""Maildir both ways, and several sessions on one mailbox.

Another program (a script, Postfix's virtual delivery, mutt) works on the
account's Maildir while IMAP sessions are open: its changes must reach the
sessions; the sessions' changes must be plain Maildir (Maildir++ folders,
":2," info letters) that those programs understand.
"""
import os
import re
import time
import unittest

from harness import ImapRaw, maildir_files, recipe_devmail, send_mail, wait_for, write_maildir_file

ACCOUNT = "all@example.com"


def mail(subject):
    return "From: x@example.net\r\nTo: all@example.com\r\nSubject: %s\r\n\r\nbody of %s\r\n" % (subject, subject)


class MaildirBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()
        send_mail(cls.dm, mail("seed"))  # creates the account's Maildir

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def login(self, select=None):
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        u, t = c.cmd("LOGIN all@example.com password")
        self.assertIn(" OK", t)
        self.untagged = []
        if select:
            u, t = c.cmd("SELECT " + select)
            self.assertIn(" OK", t, t)
            self.untagged = u
        return c

    def exists_of(self, untagged):
        n = [int(x.split()[1]) for x in untagged if x.endswith(b" EXISTS\r\n")]
        return n[-1] if n else None

    def noop_until(self, c, pred, timeout=5.0):
        """NOOP until pred(untagged lines) holds; returns all untagged seen."""
        seen = []
        deadline = time.time() + timeout
        while True:
            u, t = c.cmd("NOOP")
            self.assertIn(" OK", t)
            seen += u
            if pred(seen) or time.time() > deadline:
                return seen
            time.sleep(0.1)


class TestMaildirBothWays(MaildirBase):
    def test_file_dropped_into_new_appears_on_noop(self):
        c = self.login("INBOX")
        n = self.exists_of(self.untagged)
        u, t = c.cmd("FETCH 1:* (UID)")
        old_uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(u))]
        write_maildir_file(self.dm.maildir(ACCOUNT), mail("dropped by a script"), sub="new")
        seen = self.noop_until(c, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        self.assertIn(b"* %d EXISTS\r\n" % (n + 1), seen)
        u, t = c.cmd("FETCH %d (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])" % (n + 1))
        self.assertIn(b"Subject: dropped by a script", u[0])
        uid = int(re.search(rb"UID (\d+)", u[0]).group(1))
        self.assertGreater(uid, max(old_uids))
        # a fresh SELECT sees it too, with the same UID
        c2 = self.login("INBOX")
        u, t = c2.cmd("UID SEARCH SUBJECT \"dropped by a script\"")
        self.assertEqual(u, [b"* SEARCH %d\r\n" % uid])

    def test_file_dropped_into_cur_with_flags(self):
        c = self.login("INBOX")
        write_maildir_file(self.dm.maildir(ACCOUNT), mail("old mail from mutt"), sub="cur", info="FS")
        self.noop_until(c, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        u, t = c.cmd("SEARCH SUBJECT \"old mail from mutt\"")
        seq = int(u[0].split()[2])
        u, t = c.cmd("FETCH %d (FLAGS)" % seq)
        self.assertIn(b"\\Seen", u[0])
        self.assertIn(b"\\Flagged", u[0])

    def test_rename_in_cur_is_seen_as_flag_change(self):
        c = self.login("INBOX")
        send_mail(self.dm, mail("to be flagged by mutt"))
        self.noop_until(c, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        u, t = c.cmd("SEARCH SUBJECT \"to be flagged by mutt\"")
        seq = int(u[0].split()[2])
        u, t = c.cmd("STORE %d +FLAGS (\\Seen)" % seq)  # now a file in cur/ ending :2,S
        files = [p for p in maildir_files(self.dm.maildir(ACCOUNT), ("cur",)) if
                 b"to be flagged by mutt" in open(p, "rb").read()]
        self.assertEqual(len(files), 1)
        self.assertTrue(files[0].endswith(":2,S"), files[0])
        # mutt flags it: rename :2,S -> :2,FS
        os.rename(files[0], files[0][:-len(":2,S")] + ":2,FS")
        seen = self.noop_until(c, lambda s: any(b"FETCH" in x for x in s))
        fl = [x for x in seen if x.startswith(b"* %d FETCH" % seq)]
        self.assertTrue(fl, seen)
        self.assertIn(b"\\Flagged", fl[-1])
        self.assertIn(b"\\Seen", fl[-1])
        # mutt marks it unread: :2,F
        cur = [p for p in maildir_files(self.dm.maildir(ACCOUNT), ("cur",)) if p.endswith(":2,FS")]
        path = [p for p in cur if b"to be flagged by mutt" in open(p, "rb").read()][0]
        os.rename(path, path[:-len(":2,FS")] + ":2,F")
        seen = self.noop_until(c, lambda s: any(b"FETCH" in x and b"\\Seen" not in x for x in s))
        fl = [x for x in seen if x.startswith(b"* %d FETCH" % seq)]
        self.assertTrue(fl and b"\\Seen" not in fl[-1], seen)

    def test_flags_set_over_imap_become_info_letters(self):
        c = self.login("INBOX")
        send_mail(self.dm, mail("flag letters"))
        self.noop_until(c, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        u, t = c.cmd("SEARCH SUBJECT \"flag letters\"")
        seq = int(u[0].split()[2])

        def file_of():
            for p in maildir_files(self.dm.maildir(ACCOUNT)):
                with open(p, "rb") as f:
                    if b"Subject: flag letters" in f.read():
                        return p
            return None
        self.assertIn("/new/", file_of())
        c.cmd("STORE %d +FLAGS (\\Flagged \\Seen)" % seq)
        p = file_of()
        self.assertIn("/cur/", p)
        self.assertTrue(p.endswith(":2,FS"), p)
        c.cmd("STORE %d +FLAGS (\\Answered \\Draft)" % seq)
        self.assertTrue(file_of().endswith(":2,DFRS"), file_of())  # letters in ASCII order
        c.cmd("STORE %d FLAGS (\\Deleted)" % seq)
        self.assertTrue(file_of().endswith(":2,T"), file_of())
        c.cmd("STORE %d FLAGS ()" % seq)
        self.assertTrue(file_of().endswith(":2,"), file_of())
        c.cmd("STORE %d +FLAGS (\\Deleted)" % seq)
        c.cmd("EXPUNGE")
        self.assertIsNone(file_of())  # expunged: the file is gone

    def test_folder_created_over_imap_is_maildirplusplus(self):
        c = self.login()
        u, t = c.cmd("CREATE Projects")
        self.assertIn(" OK", t)
        u, t = c.cmd("CREATE Projects.Alpha")
        self.assertIn(" OK", t)
        md = self.dm.maildir(ACCOUNT)
        for name in (".Projects", ".Projects.Alpha"):
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(md, name, sub)), (name, sub))
        for name in (".Sent", ".Drafts", ".Trash", ".Junk"):
            self.assertTrue(os.path.isdir(os.path.join(md, name, "cur")), name)
        # a message copied there is a file in that folder
        c.cmd("SELECT INBOX")
        u, t = c.cmd("COPY 1 Projects.Alpha")
        self.assertIn(" OK", t)
        self.assertEqual(len(maildir_files(os.path.join(md, ".Projects.Alpha"))), 1)
        # a folder made by another program (mkdir) shows up in LIST
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, ".External", sub))
        write_maildir_file(os.path.join(md, ".External"), mail("in external"), sub="new")
        u, t = c.cmd('LIST "" "*"')
        self.assertTrue(any(x.rstrip().endswith(b" External") for x in u), u)
        u, t = c.cmd("STATUS External (MESSAGES)")
        self.assertIn(b"MESSAGES 1", u[0])


class TestConcurrentSessions(MaildirBase):
    def test_expunge_and_flags_seen_by_other_session(self):
        a = self.login()
        a.cmd("CREATE Shared")
        a.cmd("SELECT INBOX")
        a.cmd("COPY 1 Shared")
        a.cmd("COPY 1 Shared")
        a.cmd("COPY 1 Shared")
        a.cmd("SELECT Shared")
        b = self.login("Shared")
        self.assertEqual(self.exists_of(self.untagged), 3)
        # flags: A stores, B sees FETCH FLAGS on its NOOP
        u, t = a.cmd("STORE 2 +FLAGS (\\Flagged)")
        self.assertIn(" OK", t)
        u, t = b.cmd("NOOP")
        self.assertTrue(any(re.match(rb"\* 2 FETCH \(.*\\Flagged", x) for x in u), u)
        # expunge: A expunges message 1, B sees "* 1 EXPUNGE" on NOOP
        a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
        u, t = a.cmd("EXPUNGE")
        self.assertEqual(u, [b"* 1 EXPUNGE\r\n"])
        u, t = b.cmd("NOOP")
        self.assertIn(b"* 1 EXPUNGE\r\n", u)
        u, t = b.cmd("FETCH 1:* (UID FLAGS)")
        self.assertEqual(len([x for x in u if b"FETCH" in x]), 2)
        # no EXPUNGE during FETCH / STORE / SEARCH (RFC 3501 7.4.1), but at NOOP
        a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.cmd("EXPUNGE")
        u, t = b.cmd("FETCH 1:* (UID)")
        self.assertFalse([x for x in u if x.endswith(b"EXPUNGE\r\n")], u)
        u, t = b.cmd("SEARCH ALL")
        self.assertFalse([x for x in u if x.endswith(b"EXPUNGE\r\n")], u)
        u, t = b.cmd("NOOP")
        self.assertIn(b"* 1 EXPUNGE\r\n", u)
        u, t = b.cmd("SEARCH ALL")
        self.assertEqual(u, [b"* SEARCH 1\r\n"])

    def test_outside_change_reaches_every_session(self):
        # A file dropped by another program must reach each session that
        # has the mailbox open, not only the first one to look.
        a = self.login("INBOX")
        n_a = self.exists_of(self.untagged)
        b = self.login("INBOX")
        n_b = self.exists_of(self.untagged)
        write_maildir_file(self.dm.maildir(ACCOUNT), mail("seen by both"), sub="new")
        seen_a = self.noop_until(a, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        self.assertIn(b"* %d EXISTS\r\n" % (n_a + 1), seen_a)
        seen_b = self.noop_until(b, lambda s: any(x.endswith(b" EXISTS\r\n") for x in s))
        self.assertIn(b"* %d EXISTS\r\n" % (n_b + 1), seen_b)

    def test_delivery_reaches_idle_within_one_second(self):
        c = self.login("INBOX")
        n = self.exists_of(self.untagged)
        c.send("t99 IDLE\r\n")
        self.assertTrue(c.read_response().startswith(b"+ "))
        t0 = time.monotonic()
        send_mail(self.dm, mail("idle timing"))
        r = c.read_response()
        elapsed = time.monotonic() - t0
        print("\n    SMTP delivery -> IDLE EXISTS: %.3f s" % elapsed)
        self.assertEqual(r, b"* %d EXISTS\r\n" % (n + 1))
        self.assertLess(elapsed, 1.0)
        c.send("DONE\r\n")
        u, t = c.read_until_tagged("t99")
        self.assertIn(" OK", t)

    def test_other_session_changes_reach_idle(self):
        c = self.login("INBOX")
        other = self.login("INBOX")
        c.send("t98 IDLE\r\n")
        self.assertTrue(c.read_response().startswith(b"+ "))
        u, t = other.cmd("STORE 1 +FLAGS (\\Answered)")
        r = c.read_response()
        self.assertRegex(r, rb"^\* 1 FETCH \(.*\\Answered")
        # a file dropped by another program reaches IDLE too (Maildir polling)
        write_maildir_file(self.dm.maildir(ACCOUNT), mail("dropped during idle"), sub="new")
        c.sock.settimeout(5)
        r = c.read_response()
        self.assertRegex(r, rb"^\* \d+ EXISTS")
        c.send("DONE\r\n")
        u, t = c.read_until_tagged("t98")
        self.assertIn(" OK", t)
        other.cmd("STORE 1 -FLAGS (\\Answered)")


if __name__ == "__main__":
    unittest.main()
