"""devmail's Maildir is a real Maildir: Dovecot reads it directly.

Mail is delivered over SMTP, flagged and filed into a folder over IMAP by
devmail; then a throwaway Dovecot (Debian's dovecot-imapd, the recipe's
IMAP server, set up as in bench/imap_bench.py) is started on a copy of the
same data directory and must show the same messages, bodies, flags and
folders. Keywords go both ways: those set over IMAP in devmail are
keywords in Dovecot, and those Dovecot sets are read by a devmail
indexing Dovecot's copy (dovecot-keywords and the letters a-z in file
names).
"""
import re
import imaplib
import os
import shutil
import sys
import tempfile
import unittest

from harness import ROOT, Devmail, send_mail

sys.path.insert(0, os.path.join(ROOT, "bench"))
import imap_bench  # noqa: E402  (the benchmark's throwaway Dovecot)

ACCOUNT = imap_bench.ACCOUNT
PASSWORD = imap_bench.PASSWORD


@unittest.skipUnless(shutil.which("dovecot"), "dovecot-imapd is not installed")
class DovecotReadsDevmailMaildir(unittest.TestCase):
    def test_same_mail_flags_and_folders(self):
        tmp = tempfile.mkdtemp(prefix="devmail-dovecot-")
        try:
            with Devmail(listen=("smtp", "imap"), domains=["example.com"],
                         recipient_map="@example.com all@example.com\n",
                         passdb="%s:{PLAIN}%s\n" % (ACCOUNT, PASSWORD),
                         args=["--retention", "0"]) as dm:
                for i in range(3):
                    send_mail(dm, "Subject: message %d\r\nFrom: a@example.net\r\n\r\nbody %d\r\n" % (i, i),
                              rcpt="someone@example.com", sender="a@example.net")
                m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"])
                m.login(ACCOUNT, PASSWORD)
                m.select("INBOX")
                m.store("1", "+FLAGS", "(\\Seen \\Flagged)")
                m.create("Archive")
                m.copy("3", "Archive")
                m.store("3", "+FLAGS", "(\\Deleted)")
                m.expunge()
                bodies = {}
                typ, data = m.fetch("1:*", "(BODY.PEEK[])")
                for item in data:
                    if isinstance(item, tuple):
                        bodies[len(bodies)] = item[1]
                m.logout()
                src = dm.data_dir
                dove = imap_bench.DovecotServer(tmp, src)
                dove.start()
            try:
                d = imaplib.IMAP4("127.0.0.1", dove.port)
                d.login(ACCOUNT, PASSWORD)
                typ, data = d.select("INBOX")
                self.assertEqual(typ, "OK", dove.log_tail())
                self.assertEqual(int(data[0]), 2)
                typ, data = d.fetch("1:*", "(FLAGS BODY.PEEK[])")
                got = [item for item in data if isinstance(item, tuple)]
                self.assertEqual([g[1] for g in got], [bodies[0], bodies[1]])
                self.assertIn(b"\\Seen", got[0][0])
                self.assertIn(b"\\Flagged", got[0][0])
                self.assertNotIn(b"\\Seen", got[1][0])
                typ, data = d.list()
                self.assertTrue(any(b'"." Archive' in line or b". Archive" in line for line in data), data)
                typ, data = d.select("Archive")
                self.assertEqual(int(data[0]), 1)
                typ, data = d.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                self.assertIn(b"message 2", data[0][1])
                d.logout()
            finally:
                dove.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


    def test_keywords_both_ways(self):
        tmp = tempfile.mkdtemp(prefix="devmail-dovecot-")
        try:
            with Devmail(listen=("smtp", "imap"), domains=["example.com"],
                         recipient_map="@example.com all@example.com\n",
                         passdb="%s:{PLAIN}%s\n" % (ACCOUNT, PASSWORD),
                         args=["--retention", "0"]) as dm:
                for i in range(2):
                    send_mail(dm, "Subject: kw %d\r\nFrom: a@example.net\r\n\r\nbody %d\r\n" % (i, i),
                              rcpt="someone@example.com", sender="a@example.net")
                m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"])
                m.login(ACCOUNT, PASSWORD)
                m.select("INBOX")
                m.store("1", "+FLAGS", "(\\Seen $Label1 Project-X)")
                m.logout()
                dove = imap_bench.DovecotServer(tmp, dm.data_dir)
                dove.start()
            try:
                d = imaplib.IMAP4("127.0.0.1", dove.port)
                d.login(ACCOUNT, PASSWORD)
                typ, data = d.select("INBOX")
                self.assertEqual(typ, "OK", dove.log_tail())
                flags = flags_by_subject(d)
                self.assertEqual(flags["kw 0"] - {b"\\Recent"}, {b"\\Seen", b"$Label1", b"Project-X"})
                self.assertEqual(flags["kw 1"] - {b"\\Recent"}, set())
                # Dovecot sets a keyword of its own and clears one of ours
                d.store(seq_of(d, "kw 1"), "+FLAGS", "(FromDovecot)")
                d.store(seq_of(d, "kw 0"), "-FLAGS", "(Project-X)")
                d.logout()
            finally:
                dove.stop()
            # a devmail on Dovecot's copy (no index: built from the Maildir)
            with Devmail(listen=("imap",), domains=["example.com"], data_dir=dove.mail_root,
                         passdb="%s:{PLAIN}%s\n" % (ACCOUNT, PASSWORD), args=["--retention", "0"]) as dm2:
                m = imaplib.IMAP4("127.0.0.1", dm2.ports["imap"])
                m.login(ACCOUNT, PASSWORD)
                m.select("INBOX", readonly=True)
                # a rebuilt index numbers the files in its own order: match by subject
                flags = flags_by_subject(m)
                self.assertEqual(flags["kw 0"] - {b"\\Recent"}, {b"\\Seen", b"$Label1"})
                self.assertEqual(flags["kw 1"] - {b"\\Recent"}, {b"FromDovecot"})
                m.logout()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

def flags_by_subject(conn):
    """{subject: set of flags} of messages 1:2 of the selected mailbox."""
    typ, data = conn.fetch("1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split())
        out[item[1].decode().split(":", 1)[1].strip()] = flags
    return out


def seq_of(conn, subject):
    typ, data = conn.search(None, "SUBJECT", '"%s"' % subject)
    return data[0].decode().split()[0]


if __name__ == "__main__":
    unittest.main()
